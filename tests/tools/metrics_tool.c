/* metrics_tool A B: print "PSNR SSIM" of two images (values in [0, 1],
 * range 1) for tests/test_metrics.py to compare with scikit-image. */
#include <stdio.h>

#include "siren.h"

int main(int argc, char **argv) {
    siren_image a = {0}, b = {0};
    double ssim = 0;
    int rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: metrics_tool A B\n");
        return 2;
    }
    if (siren_image_load(argv[1], &a, NULL) != SIREN_OK ||
        siren_image_load(argv[2], &b, NULL) != SIREN_OK ||
        siren_ssim(&a, &b, 1.0, &ssim) != SIREN_OK) {
        fprintf(stderr, "metrics_tool: %s\n", siren_last_error());
        goto done;
    }
    printf("%.17g %.17g\n",
           siren_psnr(a.data, b.data,
                      (size_t)a.width * (size_t)a.height * (size_t)a.channels, 1.0),
           ssim);
    rc = 0;
done:
    siren_image_free(&a);
    siren_image_free(&b);
    return rc;
}
