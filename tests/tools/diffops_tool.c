/* diffops_tool IN.raw W H OUT_PREFIX: siren_sobel and siren_laplace of an
 * (H, W) little-endian float32 image, written as OUT_PREFIX.drow.raw,
 * .dcol.raw and .lapl.raw; diffops_tool gray IN.raw W H C OUT.raw:
 * siren_image_gray of an (H, W, C) image. Also checks that siren_sobel
 * with one output NULL gives the same numbers. For tests/test_diffops.py, which
 * compares them with SciPy. Assumes a little-endian host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/diffops.h"

static int read_raw(const char *path, float *p, size_t n) {
    FILE *f = fopen(path, "rb");
    int ok = f && fread(p, sizeof *p, n, f) == n && fgetc(f) == EOF;
    if (f) fclose(f);
    if (!ok) fprintf(stderr, "diffops_tool: %s: cannot read %zu floats\n", path, n);
    return ok;
}

static int write_raw(const char *prefix, const char *suffix, const float *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, sizeof *p, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "diffops_tool: %s: cannot write\n", path);
    return ok;
}

static int dim(const char *s) {
    int v = atoi(s);
    if (v < 1 || v > 1 << 14) {
        fprintf(stderr, "diffops_tool: bad size %s\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc == 7 && strcmp(argv[1], "gray") == 0) {
        siren_image img = {dim(argv[3]), dim(argv[4]), dim(argv[5]), NULL};
        size_t n = (size_t)img.width * img.height;
        img.data = malloc(n * img.channels * sizeof(float));
        float *g = malloc(n * sizeof *g);
        int ok = img.data && g && read_raw(argv[2], img.data, n * img.channels);
        if (ok) {
            siren_image_gray(&img, g);
            ok = write_raw(argv[6], "", g, n);
        }
        free(img.data);
        free(g);
        return ok ? 0 : 1;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: diffops_tool IN.raw W H OUT_PREFIX\n"
                        "       diffops_tool gray IN.raw W H C OUT.raw\n");
        return 2;
    }
    int w = dim(argv[2]), h = dim(argv[3]);
    size_t n = (size_t)w * h;
    float *in = malloc(n * sizeof *in), *dr = malloc(n * sizeof *dr),
          *dc = malloc(n * sizeof *dc), *lap = malloc(n * sizeof *lap);
    int ok = in && dr && dc && lap && read_raw(argv[1], in, n);
    if (ok) {
        siren_sobel(in, w, h, dr, dc);
        siren_laplace(in, w, h, lap);
        /* one output at a time (the other NULL) must give the same numbers */
        siren_sobel(in, w, h, lap, NULL);
        ok = memcmp(lap, dr, n * sizeof *dr) == 0;
        siren_sobel(in, w, h, NULL, lap);
        ok = ok && memcmp(lap, dc, n * sizeof *dc) == 0;
        if (!ok) fprintf(stderr, "diffops_tool: siren_sobel with a NULL output differs\n");
        siren_laplace(in, w, h, lap);
        ok = ok && write_raw(argv[4], ".drow.raw", dr, n) &&
             write_raw(argv[4], ".dcol.raw", dc, n) &&
             write_raw(argv[4], ".lapl.raw", lap, n);
    }
    free(in); free(dr); free(dc); free(lap);
    return ok ? 0 : 1;
}
