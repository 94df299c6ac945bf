/* Fit the cameraman photo at 256x256 with libsiren, render it at 512x512:
 *   cc fit_camera.c $(pkg-config --cflags --libs siren) -o fit_camera */
#include <siren.h>
#include <stdio.h>

int main(void) {
    siren_image photo, img, big;
    siren_net *net;
    siren_fit_result res;
    siren_config cfg = siren_config_default(2, 1);     /* 3 x 256, omega_0 30 */
    siren_train_opts opt = siren_train_opts_default(); /* 500 steps of Adam */
    if (siren_image_load("data/camera.png", &photo, NULL) ||
        siren_image_resize(&photo, 256, 256, &img) ||
        siren_fit_image(&img, &cfg, &opt, &net, &res) ||
        siren_render_image(net, 512, 512, 0, &big) ||
        siren_image_write_png("camera_512.png", &big)) {
        fprintf(stderr, "%s\n", siren_last_error());
        return 1;
    }
    printf("PSNR %.2f dB, camera_512.png written\n", res.psnr_db);
    return 0;
}
