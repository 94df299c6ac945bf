/* Learning-rate schedules (siren_train_opts: lr_schedule, lr_final, warmup;
 * src/train/loop.c): siren_lr_at against the formulas written out here;
 * the rate the loop really applies, as the progress callback reports it,
 * is siren_lr_at's for every step, times 2^-k after k rollbacks of the
 * divergence guard; a fit stopped with a checkpoint and resumed ends bit
 * for bit where the uninterrupted fit does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "siren.h"
#include "testhelp.h"

#define PI 3.14159265358979323846

static int close_rel(double a, double b) { return fabs(a - b) <= 1e-6 * fabs(b); }

static void test_formula(void) {
    siren_train_opts o = siren_train_opts_default();
    o.steps = 1000;
    o.lr = 1e-3f;
    int ok = 1;
    for (int s = 0; s < o.steps; s++) ok &= siren_lr_at(&o, s) == o.lr;
    CHECK(ok, "constant (the default): lr at every step, exactly");

    o.warmup = 100;
    ok = 1;
    for (int s = 0; s < 100; s++) ok &= close_rel(siren_lr_at(&o, s), 1e-3 * (s + 1) / 100);
    for (int s = 100; s < o.steps; s++) ok &= siren_lr_at(&o, s) == o.lr;
    CHECK(ok, "constant, warm-up 100: lr (s + 1) / 100 for s < 100, then lr");

    o.lr_schedule = SIREN_LR_COSINE;
    o.lr_final = 1e-5f;
    ok = 1;
    double worst = 0;
    for (int s = 100; s < o.steps; s++) {
        const double p = (s - 100) / 900.0;
        const double want = 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + cos(PI * p));
        ok &= close_rel(siren_lr_at(&o, s), want);
        worst = fmax(worst, fabs(siren_lr_at(&o, s) - want) / want);
    }
    CHECK(ok && siren_lr_at(&o, 100) == o.lr && close_rel(siren_lr_at(&o, 550), 0.5 * (1e-3 + 1e-5)),
          "cosine after warm-up: lr_final + (lr - lr_final)(1 + cos pi p) / 2, p = (s - 100) "
          "/ 900 (worst relative error %.2g; lr at p = 0, the mean at p = 1/2)", worst);
    ok = 1;
    for (int s = 101; s < o.steps; s++) ok &= siren_lr_at(&o, s) <= siren_lr_at(&o, s - 1);
    CHECK(ok && siren_lr_at(&o, 999) > o.lr_final && siren_lr_at(&o, 999) < 1.01 * o.lr_final &&
              siren_lr_at(&o, 5000) == o.lr_final,
          "cosine falls monotonically towards lr_final (%.4g at the last step), and stays "
          "there past the planned steps", siren_lr_at(&o, 999));

    o.lr_schedule = SIREN_LR_EXP;
    o.warmup = 0;
    ok = 1;
    for (int s = 0; s < o.steps; s++)
        ok &= close_rel(siren_lr_at(&o, s), 1e-3 * pow(1e-2, s / 1000.0));
    CHECK(ok && close_rel(siren_lr_at(&o, 500), 1e-4),
          "exp: lr (lr_final / lr)^(s / steps) (1e-4 halfway from 1e-3 to 1e-5)");
    o.lr_final = 0;
    CHECK(close_rel(siren_lr_at(&o, 500), 1e-4) && close_rel(siren_lr_at(&o, 1000), 1e-5),
          "lr_final 0 means lr / 100");
    o.lr_schedule = SIREN_LR_COSINE;
    CHECK(close_rel(siren_lr_at(&o, 500), 0.5 * (1e-3 + 1e-5)), "... for cosine too");
}

typedef struct {
    const siren_train_opts *opt;
    int calls, mismatches, rollbacks, stop_at;
    double first, last, max;
} watch;

/* Every call: the rate reported is the schedule's at the step just done
 * (after a rollback: at the step to be done next) times 2^-rollbacks. */
static int on_progress(void *user, const siren_progress *p) {
    watch *w = user;
    if (p->warning) w->rollbacks++;
    const int step = p->warning ? p->step : p->step - 1;
    const float want = siren_lr_at(w->opt, step) * ldexpf(1.0f, -w->rollbacks);
    if ((float)p->lr != want) {
        if (w->mismatches++ < 3)
            printf("# step %d: rate %.9g, expected %.9g\n", p->step, p->lr, (double)want);
    }
    if (w->calls++ == 0) w->first = p->lr;
    w->last = p->lr;
    w->max = fmax(w->max, p->lr);
    return w->stop_at > 0 && p->step == w->stop_at;
}

static void test_applied(const siren_image *img) {
    siren_config cfg = siren_config_default(2, 1);
    cfg.hidden_features = 32;
    cfg.hidden_layers = 2;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 60;
    opt.threads = 1;
    opt.lr = 3e-4f;
    opt.lr_schedule = SIREN_LR_COSINE;
    opt.lr_final = 1e-6f;
    opt.warmup = 10;
    watch w = {&opt, 0, 0, 0, 0, 0, 0, 0};
    opt.progress = on_progress;
    opt.user = &w;
    siren_net *net = NULL;
    siren_fit_result res;
    siren_status st = siren_fit_image(img, &cfg, &opt, &net, &res);
    CHECK(!st && w.calls == 60 && w.mismatches == 0 && w.rollbacks == 0,
          "cosine with warm-up 10 over 60 steps: the rate applied at each step is "
          "siren_lr_at's (%d calls, %d differ)", w.calls, w.mismatches);
    CHECK(!st && close_rel(w.first, 3e-5) && w.max == opt.lr && w.last < 1e-5,
          "... rising from %.3g to %.3g, then down to %.3g", w.first, w.max, w.last);
    if (!st) siren_net_free(net);

    /* a rate far too large: the guard halves a factor on top of the
     * schedule, so the rate stays the schedule's shape, scaled down */
    opt.lr = 1e30f;
    opt.lr_final = 1e28f;
    opt.warmup = 0;
    opt.steps = 30;
    opt.max_retries = 200;
    memset(&w, 0, sizeof w);
    w.opt = &opt;
    st = siren_fit_image(img, &cfg, &opt, &net, &res);
    CHECK(!st && res.steps == 30 && w.rollbacks >= 50 && w.mismatches == 0,
          "lr 1e30 with a cosine: %d rollbacks, and every rate applied is the "
          "schedule's times 2^-rollbacks (%d differ)", w.rollbacks, w.mismatches);
    if (!st) siren_net_free(net);

    /* bad options are refused */
    opt = siren_train_opts_default();
    opt.steps = 2;
    opt.lr_schedule = (siren_lr_schedule)7;
    st = siren_fit_image(img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_EINVAL, "an unknown schedule is refused: %s", siren_last_error());
    opt.lr_schedule = SIREN_LR_EXP;
    opt.lr_final = -1;
    st = siren_fit_image(img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_EINVAL, "a negative final rate is refused: %s", siren_last_error());
    opt.lr_final = 0;
    opt.warmup = -3;
    st = siren_fit_image(img, &cfg, &opt, &net, &res);
    CHECK(st == SIREN_EINVAL, "a negative warm-up is refused: %s", siren_last_error());
}

static void test_resume(const siren_image *img) {
    char ck[] = "/tmp/siren_sched_ckXXXXXX";
    int fd = mkstemp(ck);
    if (fd >= 0) close(fd);
    siren_config cfg = siren_config_default(2, 1);
    cfg.hidden_features = 32;
    cfg.hidden_layers = 2;
    for (int sched = SIREN_LR_COSINE; sched <= SIREN_LR_EXP; sched++) {
        siren_train_opts opt = siren_train_opts_default();
        opt.steps = 40;
        opt.threads = 1;
        opt.batch = 300; /* minibatches: the sampler resumes too */
        opt.lr = 2e-4f;
        opt.lr_schedule = (siren_lr_schedule)sched;
        opt.lr_final = 2e-6f;
        opt.warmup = 8;
        siren_net *a = NULL, *b = NULL, *c = NULL;
        siren_fit_result ra, rb, rc;
        siren_status s1 = siren_fit_image(img, &cfg, &opt, &a, &ra);
        siren_train_opts o2 = opt;
        watch w = {&opt, 0, 0, 0, 13, 0, 0, 0};
        o2.checkpoint = ck;
        o2.progress = on_progress;
        o2.user = &w;
        siren_status s2 = siren_fit_image(img, &cfg, &o2, &b, &rb);
        siren_train_opts o3 = opt;
        o3.resume = ck;
        memset(&w, 0, sizeof w);
        w.opt = &opt;
        o3.progress = on_progress;
        o3.user = &w;
        siren_status s3 = siren_fit_image(img, &cfg, &o3, &c, &rc);
        CHECK(!s1 && !s2 && !s3 && rb.steps == 13 && rc.steps == 40 && w.calls == 27 &&
                  w.mismatches == 0 &&
                  !memcmp(siren_net_params(a), siren_net_params(c),
                          siren_net_param_count(a) * sizeof(float)),
              "%s with warm-up: stopped at step 13, resumed to 40 with the schedule's rates "
              "from step 13 on: the uninterrupted model bit for bit",
              sched == SIREN_LR_COSINE ? "cosine" : "exp");
        if (!s1) siren_net_free(a);
        if (!s2) siren_net_free(b);
        if (!s3) siren_net_free(c);
    }
    unlink(ck);
}

int main(void) {
    test_formula();
    siren_image full, img;
    if (siren_image_load("data/camera.png", &full, NULL) != SIREN_OK ||
        siren_image_resize(&full, 24, 24, &img) != SIREN_OK) {
        CHECK(0, "load data/camera.png: %s", siren_last_error());
        TEST_DONE();
    }
    test_applied(&img);
    test_resume(&img);
    siren_image_free(&img);
    siren_image_free(&full);
    TEST_DONE();
}
