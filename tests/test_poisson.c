/* Poisson image tasks (src/tasks/poisson_task.c):
 *   - the targets are s times the true derivatives in coordinate units:
 *     checked on a smooth image whose derivatives are known in closed form,
 *     and for a square image equal to the official 10 x Sobel;
 *   - a 64x64 crop of the cameraman photo is recovered from its gradients
 *     alone, and from its Laplacian alone, to a stated PSNR; the model's
 *     stored read-back renders that reconstruction, and the evaluation
 *     measures the same PSNR;
 *   - compose with an all-white mask reconstructs B, without a mask from a
 *     flat A it takes B's gradients everywhere. */
#include <math.h>
#include <string.h>

#include "siren.h"
#include "tasks/diffops.h"
#include "tasks/poisson.h"
#include "testhelp.h"

static void test_targets(void) {
    /* img'(u, v) = 0.4 sin(1.7 u + 0.3) + 0.3 v² - 0.2 u v on a 97 x 61
     * grid (not square: both axes must agree), u = row, v = col coords. */
    enum { H = 97, W = 61 };
    static float img[H * W], grad[H * W * 2], lap[H * W], sob_r[H * W], sob_c[H * W];
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            double u = -1 + 2.0 * r / (H - 1), v = -1 + 2.0 * c / (W - 1);
            img[r * W + c] = (float)(0.4 * sin(1.7 * u + 0.3) + 0.3 * v * v - 0.2 * u * v);
        }
    double s = siren_poisson_scale("grad", W, H), sl = siren_poisson_scale("lapl", W, H);
    siren_poisson_targets(img, W, H, s, grad, NULL);
    siren_poisson_targets(img, W, H, sl, NULL, lap);
    double eg = 0, gm = 0, el = 0, lm = 0;
    for (int r = 2; r < H - 2; r++)
        for (int c = 2; c < W - 2; c++) {
            double u = -1 + 2.0 * r / (H - 1), v = -1 + 2.0 * c / (W - 1);
            double du = 0.4 * 1.7 * cos(1.7 * u + 0.3) - 0.2 * v, dv = 0.6 * v - 0.2 * u;
            double lp = -0.4 * 1.7 * 1.7 * sin(1.7 * u + 0.3) + 0.6;
            size_t i = (size_t)r * W + c;
            eg = fmax(eg, fmax(fabs(grad[2 * i] - s * du), fabs(grad[2 * i + 1] - s * dv)));
            gm = fmax(gm, fmax(fabs(s * du), fabs(s * dv)));
            el = fmax(el, fabs(lap[i] - sl * lp));
            lm = fmax(lm, fabs(sl * lp));
        }
    /* Sobel/8 and [1,-2,1] are second-order accurate: errors ~ h² f''' with
     * h = 2/60, i.e. ~1e-3 relative here. */
    CHECK(eg < 5e-3 * gm, "gradient targets are s x the true derivatives in "
          "coordinate units on a 97x61 grid (max err %.2e of %.2e)", eg, gm);
    CHECK(el < 5e-3 * lm, "Laplacian targets are s x the true Laplacian (max err "
          "%.2e of %.2e)", el, lm);
    /* square: exactly the official code's 10 x Sobel and 1e4 x laplace */
    enum { N = 40 };
    static float sq[N * N], g2[N * N * 2], l2[N * N], ref_l[N * N];
    for (int i = 0; i < N * N; i++) sq[i] = (float)sin(0.37 * i) * 0.8f;
    siren_poisson_targets(sq, N, N, siren_poisson_scale("grad", N, N), g2, NULL);
    siren_poisson_targets(sq, N, N, siren_poisson_scale("lapl", N, N), NULL, l2);
    siren_sobel(sq, N, N, sob_r, sob_c);
    siren_laplace(sq, N, N, ref_l);
    double e1 = 0, e2 = 0;
    for (int i = 0; i < N * N; i++) {
        e1 = fmax(e1, fabs(g2[2 * i] - 10 * sob_r[i]) + fabs(g2[2 * i + 1] - 10 * sob_c[i]));
        e2 = fmax(e2, fabs(l2[i] - 1e4 * ref_l[i]) / 1e4);
    }
    CHECK(e1 < 1e-4 && e2 < 1e-5, "square image: targets are the official 10 x "
          "Sobel and 1e4 x Laplacian (err %.1e, %.1e)", e1, e2);
}

static siren_image crop_of(const siren_image *img, int r0, int c0, int S) {
    siren_image c = {S, S, 1, malloc((size_t)S * S * sizeof(float))};
    for (int r = 0; r < S; r++)
        memcpy(c.data + r * S, img->data + (size_t)(r0 + r) * img->width + c0,
               S * sizeof(float));
    return c;
}

static double psnr01(const siren_image *a, const siren_image *b) {
    double se = 0;
    size_t n = (size_t)a->width * a->height;
    for (size_t i = 0; i < n; i++) se += (double)(a->data[i] - b->data[i]) * (a->data[i] - b->data[i]);
    return 10 * log10(1.0 / (se / n));
}

static void test_reconstruct(const siren_image *crop, int lapl, int steps,
                             double want) {
    siren_config cfg = siren_config_default(2, 1);
    cfg.hidden_features = 128;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = steps;
    opt.lr = lapl ? 1e-4f : 3e-4f;
    siren_net *net;
    siren_fit_result res;
    siren_status st = lapl ? siren_fit_lapl(crop, &cfg, &opt, &net, &res)
                           : siren_fit_grad(crop, &cfg, &opt, &net, &res);
    const char *what = lapl ? "Laplacian" : "gradients";
    CHECK(st == SIREN_OK, "fit the crop's %s", what);
    if (st) return;
    CHECK(res.psnr_db >= want, "64x64 crop recovered from its %s alone to %.2f dB "
          "(>= %.0f dB; %d steps, 3x128, %.1f s)", what, res.psnr_db, want, steps,
          res.seconds);
    siren_poisson_eval ev;
    int ok = siren_eval_poisson(net, crop, 0, &ev) == SIREN_OK;
    CHECK(ok && (lapl ? ev.lapl_psnr_db : ev.grad_psnr_db) > 40,
          "the model's exact %s match the targets (%.1f dB)", what,
          lapl ? ev.lapl_psnr_db : ev.grad_psnr_db);
    CHECK(ok &&
              fabs(ev.psnr_db - res.psnr_db) < 1e-3,
          "eval against the crop measures the same reconstruction PSNR (%.4f vs "
          "%.4f dB; SSIM %.3f, gradient PSNR %.1f dB, Laplacian PSNR %.1f dB)",
          ev.psnr_db, res.psnr_db, ev.ssim, ev.grad_psnr_db, ev.lapl_psnr_db);
    siren_image pic;
    siren_render_image(net, 64, 64, 0, &pic);
    double p = psnr01(&pic, crop);
    /* the picture is clamped to [0, 1], which can only bring it closer */
    CHECK(p >= res.psnr_db - 1e-3, "the stored read-back renders the "
          "reconstruction (%.2f dB as a picture)", p);
    siren_image_free(&pic);
    siren_net_free(net);
}

static void test_compose(const siren_image *a, const siren_image *b) {
    siren_config cfg = siren_config_default(2, 1);
    cfg.hidden_features = 64;
    cfg.hidden_layers = 2;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 300;
    opt.lr = 3e-4f;
    siren_image white = {a->width, a->height, 1, malloc((size_t)a->width * a->height * sizeof(float))};
    siren_image flat = white;
    flat.data = malloc((size_t)a->width * a->height * sizeof(float));
    for (int i = 0; i < a->width * a->height; i++) {
        white.data[i] = 1.0f;
        flat.data[i] = 0.3f;
    }
    siren_net *n1, *n2;
    siren_fit_result r1, r2;
    siren_poisson_eval e1, e2;
    CHECK(siren_fit_compose(a, b, &white, &cfg, &opt, &n1, &r1) == SIREN_OK &&
              siren_eval_poisson(n1, b, 0, &e1) == SIREN_OK,
          "compose with a white mask");
    CHECK(siren_fit_compose(&flat, b, NULL, &cfg, &opt, &n2, &r2) == SIREN_OK &&
              siren_eval_poisson(n2, b, 0, &e2) == SIREN_OK,
          "compose of a flat image and B, mixed gradients");
    siren_poisson_eval ea;
    siren_eval_poisson(n1, a, 0, &ea);
    CHECK(e1.psnr_db > 25 && e1.psnr_db > ea.psnr_db + 5,
          "white mask: the model is B (%.2f dB against B, %.2f against A)",
          e1.psnr_db, ea.psnr_db);
    CHECK(e2.psnr_db > 25, "flat A: mixed gradients take B's (%.2f dB against B)",
          e2.psnr_db);
    siren_net_free(n1);
    siren_net_free(n2);
    free(white.data);
    free(flat.data);
}

int main(void) {
    test_targets();
    siren_image img;
    if (siren_image_load("data/camera.png", &img, NULL) != SIREN_OK) {
        CHECK(0, "load data/camera.png: %s", siren_last_error());
        TEST_DONE();
    }
    siren_image head = crop_of(&img, 96, 192, 64), grass = crop_of(&img, 400, 100, 64);
    test_reconstruct(&head, 0, 400, 30);
    /* The Laplacian fixes the image only up to a harmonic function: the
     * fit matches the Laplacian closely (checked inside) but the
     * reconstruction, after removing harmonic polynomials of degree <= 4,
     * stays far below the gradient one (README: Poisson tasks). */
    test_reconstruct(&head, 1, 400, 15);
    test_compose(&head, &grass);
    siren_image_free(&head);
    siren_image_free(&grass);
    siren_image_free(&img);
    TEST_DONE();
}
