/* The cost of one data-parallel step's communication alone: MPI_Allreduce
 * (sum, in place) of N floats, the buffer cli/mpi.c sends per step (an
 * image network 3x256: 198,401 parameters + 2 for the loss). Prints the
 * median over the iterations, after 5 left out, on rank 0.
 *   mpicc -O2 -o allreduce bench/allreduce.c
 *   mpirun -np 2 ./allreduce [N] [ITERS] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int n = argc > 1 ? atoi(argv[1]) : 198403;
    const int iters = argc > 2 ? atoi(argv[2]) : 200;
    float *buf = malloc((size_t)n * sizeof *buf);
    double *t = malloc((size_t)(iters + 5) * sizeof *t);
    for (int i = 0; i < n; i++) buf[i] = 1e-3f * (float)(i % 1000);
    for (int k = 0; k < iters + 5; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        t[k] = MPI_Wtime() - t0;
        for (int i = 0; i < n; i++) buf[i] *= 0.5f; /* keep values finite */
    }
    qsort(t + 5, iters, sizeof *t, cmp);
    if (rank == 0)
        printf("allreduce of %d floats (%.2f MB) on %d ranks: median %.1f us, "
               "%.2f GB/s of buffer\n", n, 4e-6 * n, size, 1e6 * t[5 + iters / 2],
               4e-9 * n / t[5 + iters / 2]);
    free(buf);
    free(t);
    MPI_Finalize();
    return 0;
}
