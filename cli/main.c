/* siren: the command-line tool. Dispatches to one file per subcommand. */
#include <signal.h>
#include <string.h>

#include "cli.h"

static const char *main_help =
    "Usage: siren COMMAND [options]\n"
    "\n"
    "Fit implicit neural representations with periodic activations (SIREN)\n"
    "on the CPU.\n"
    "\n"
    "Commands:\n"
    "  fit TASK INPUT -o MODEL  fit a SIREN: image, grad, lapl (an image's\n"
    "                           derivatives), compose A B (Poisson editing),\n"
    "                           sdf, occupancy (3-D shapes: PLY, XYZ, OBJ)\n"
    "  render MODEL -o OUT      render a model to .png or .npy at any size\n"
    "  mesh MODEL -o OUT.ply    marching cubes of a shape model (PLY or OBJ)\n"
    "  eval MODEL REF           PSNR and SSIM of a model against an image\n"
    "                           (and its derivatives, for grad/lapl/compose);\n"
    "                           Chamfer, normal consistency, F-score of a shape\n"
    "  info MODEL               architecture and metadata of a model file\n"
    "  compare IMG --arch A,B -o DIR  several configurations on one image:\n"
    "                           tables, PSNR curves (SVG), a Figure-1 panel\n"
    "  solve helmholtz|wave     solve a PDE with a SIREN (Helmholtz with a point\n"
    "                           source and PML, or the wave equation); --compare\n"
    "                           scores it against finite differences\n"
    "  spectrum MODEL|IMG -o SPEC.png  2-D Fourier magnitude (log), band limit\n"
    "  prune MODEL IMG -o OUT   fewer hidden units (--keep F), then fine-tune\n"
    "  sr IMG --scale S -o DIR  super-resolution: a SIREN fitted to IMG shrunk\n"
    "                           S times, against bicubic: PSNR, SSIM, pictures\n"
    "  stats MODEL | --arch A   per-layer mean/std and histograms of the\n"
    "                           pre-activations and activations (init report)\n"
    "  prior train|complete|eval  a learned space of SIRENs (hypernetwork):\n"
    "                           train on a set of images (Fashion-MNIST, a\n"
    "                           folder), complete an image from a few pixels,\n"
    "                           PSNR per context size on held-out images\n"
    "\n"
    "  --help                   this text; 'siren COMMAND --help' for a command\n"
    "  --version                the version\n"
    "\n"
    "Exit status: 0 success, 1 bad input or failed run, 2 bad command line.\n";

int main(int argc, char **argv) {
    /* Past a file size limit (ulimit -f) a write should fail with EFBIG and
     * an error message, leaving the old output intact (the writers go
     * through a temporary file), not kill the process with SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        fputs(main_help, stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        printf("siren %s\n", SIREN_VERSION);
        return 0;
    }
    if (!strcmp(c, "fit")) return cli_fit(argc - 2, argv + 2);
    if (!strcmp(c, "render")) return cli_render(argc - 2, argv + 2);
    if (!strcmp(c, "eval")) return cli_eval(argc - 2, argv + 2);
    if (!strcmp(c, "info")) return cli_info(argc - 2, argv + 2);
    if (!strcmp(c, "mesh")) return cli_mesh(argc - 2, argv + 2);
    if (!strcmp(c, "compare")) return cli_compare(argc - 2, argv + 2);
    if (!strcmp(c, "solve")) return cli_solve(argc - 2, argv + 2);
    if (!strcmp(c, "spectrum")) return cli_spectrum(argc - 2, argv + 2);
    if (!strcmp(c, "prune")) return cli_prune(argc - 2, argv + 2);
    if (!strcmp(c, "sr")) return cli_sr(argc - 2, argv + 2);
    if (!strcmp(c, "stats")) return cli_stats(argc - 2, argv + 2);
    if (!strcmp(c, "prior")) return cli_prior(argc - 2, argv + 2);
    cli_usage_error(NULL, "unknown command '%s'", c);
}
