/* End-to-end fitting: a 64x64 crop of the cameraman photo reaches 30 dB
 * with the official recipe (3x256, omega_0 30, Adam 1e-4, full batch), and
 * the model's own PSNR report agrees with an independent evaluation of the
 * rendered values. Not a timing test: it asserts quality only. */
#include <math.h>
#include <string.h>

#include "siren.h"
#include "testhelp.h"

int main(void) {
    siren_image img;
    if (siren_image_load("data/camera.png", &img, NULL) != SIREN_OK) {
        CHECK(0, "load data/camera.png: %s", siren_last_error());
        TEST_DONE();
    }
    /* The crop around the photographer's head and camera: edges and flat
     * sky, the hard and the easy parts of the photo. */
    enum { S = 64, R0 = 96, C0 = 192 };
    siren_image crop = {S, S, 1, malloc(S * S * sizeof(float))};
    for (int r = 0; r < S; r++)
        memcpy(crop.data + r * S, img.data + (size_t)(R0 + r) * img.width + C0,
               S * sizeof(float));
    siren_config cfg = siren_config_default(2, 1);
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 1500;
    opt.target_psnr = 30.5;
    siren_net *net;
    siren_fit_result res;
    CHECK(siren_fit_image(&crop, &cfg, &opt, &net, &res) == SIREN_OK, "fit the crop");
    CHECK(res.psnr_db >= 30.0, "64x64 crop reaches 30 dB (%.2f dB after %d steps, %.1f s)",
          res.psnr_db, res.steps, res.seconds);
    float *v = malloc(S * S * sizeof(float)), *t = malloc(S * S * sizeof(float));
    siren_render_values(net, S, S, 0, v);
    double se = 0;
    for (int i = 0; i < S * S; i++) {
        t[i] = 2 * crop.data[i] - 1;
        se += (double)(v[i] - t[i]) * (v[i] - t[i]);
    }
    double psnr = 10 * log10(4.0 / (se / (S * S)));
    CHECK(fabs(psnr - res.psnr_db) < 1e-3, "reported PSNR %.4f equals the rendered "
          "values' PSNR %.4f", res.psnr_db, psnr);
    CHECK(fabs(siren_psnr(v, t, S * S, 2.0) - psnr) < 1e-6, "siren_psnr agrees (%.4f)",
          siren_psnr(v, t, S * S, 2.0));
    free(v); free(t);
    siren_net_free(net);
    siren_image_free(&crop);
    siren_image_free(&img);
    TEST_DONE();
}
