/* The divergence guard (src/train/loop.c, issue 10): a fit pushed off the
 * rails by a learning rate far too large rolls back and halves the rate
 * until it trains, telling the progress callback each time; with no
 * retries left it stops with SIREN_EDIVERGED and hands back a model whose
 * parameters are the last good ones (finite, and as good as before). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "siren.h"
#include "testhelp.h"

typedef struct {
    int warnings, calls;
    char last[256];
    double first_loss;
} watch;

static int on_progress(void *user, const siren_progress *p) {
    watch *w = user;
    if (w->calls++ == 0) w->first_loss = p->loss;
    if (p->warning) {
        w->warnings++;
        snprintf(w->last, sizeof w->last, "%s", p->warning);
    }
    return 0;
}

static int all_finite(siren_net *net) {
    const float *p = siren_net_params(net);
    for (size_t i = 0; i < siren_net_param_count(net); i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

int main(void) {
    siren_image full, img;
    if (siren_image_load("data/camera.png", &full, NULL) != SIREN_OK) {
        CHECK(0, "load data/camera.png: %s", siren_last_error());
        TEST_DONE();
    }
    siren_image_resize(&full, 32, 32, &img);
    siren_config cfg = siren_config_default(2, 1);
    cfg.hidden_features = 32;
    cfg.hidden_layers = 1;
    siren_net *net = NULL;
    siren_fit_result res;

    /* lr 1e30: the first update overflows the parameters or the loss */
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 40;
    opt.threads = 1;
    opt.lr = 1e30f;
    opt.max_retries = 200;
    watch w = {0};
    opt.progress = on_progress;
    opt.user = &w;
    siren_status st = siren_fit_image(&img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && res.steps == 40 && isfinite(res.loss) &&
          isfinite(res.psnr_db) && all_finite(net),
          "lr 1e30: the guard rolls back and halves the rate until it trains: "
          "40 steps, loss %.3g, PSNR %.2f dB, %d warnings", res.loss,
          res.psnr_db, w.warnings);
    CHECK(w.warnings >= 50 && strstr(w.last, "rolled back") &&
          strstr(w.last, "learning rate halved"),
          "each rollback is reported to the progress callback (%d): \"%s\"",
          w.warnings, w.last);
    siren_net_free(net);
    net = NULL;

    /* a jump without overflow: lr 0.5 makes the loss rise, and with a jump
     * factor of 1.5 that is rolled back */
    opt.lr = 0.5f;
    opt.jump_factor = 1.5;
    opt.max_retries = 100;
    memset(&w, 0, sizeof w);
    st = siren_fit_image(&img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && w.warnings >= 1 && strstr(w.last, "jumped") &&
          strstr(w.last, "over 1.5x") && isfinite(res.loss),
          "lr 0.5, jump factor 1.5: %d jumps rolled back (\"%s\"), final "
          "loss %.3g", w.warnings, w.last, res.loss);
    opt.jump_factor = 100;
    siren_net_free(net);
    net = NULL;

    /* no retries: the error, and the last good model handed back */
    opt.lr = 1e30f;
    opt.max_retries = 0;
    memset(&w, 0, sizeof w);
    st = siren_fit_image(&img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_EDIVERGED && net && all_finite(net) &&
          strstr(siren_last_error(), "diverged") &&
          strstr(siren_last_error(), "last good"),
          "no retries left: SIREN_EDIVERGED (\"%s\") with a finite model",
          siren_last_error());
    if (net) {
        /* the last good state here is the initial one: PSNR as at step 0 */
        float *vals = malloc(32 * 32 * sizeof *vals), *t = malloc(32 * 32 * sizeof *t);
        siren_render_values(net, 32, 32, 1, vals);
        for (int i = 0; i < 32 * 32; i++) t[i] = 2 * img.data[i] - 1;
        double psnr = siren_psnr(vals, t, 32 * 32, 2.0);
        CHECK(fabs(psnr - 10 * log10(4 / w.first_loss)) < 0.01,
              "that model is the initial state: PSNR %.3f dB = the first "
              "step's %.3f dB", psnr, 10 * log10(4 / w.first_loss));
        free(vals);
        free(t);
        siren_net_free(net);
    }
    /* the derivative loop has the same guard */
    net = NULL;
    opt.max_retries = 200;
    opt.steps = 10;
    memset(&w, 0, sizeof w);
    st = siren_fit_grad(&img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_OK && w.warnings >= 1 && isfinite(res.loss) && all_finite(net),
          "grad fit with lr 1e30: %d rollbacks, then it trains (loss %.3g)",
          w.warnings, res.loss);
    siren_net_free(net);
    siren_image_free(&img);
    siren_image_free(&full);
    TEST_DONE();
}
