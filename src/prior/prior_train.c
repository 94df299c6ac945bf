/* Training the hypernetwork prior as the official train_img_neural_process:
 * shuffled batches of images, a context size drawn per batch, the loss of
 * siren_prior_batch, gradients clipped by their global norm, Adam. Every
 * random choice derives from (seed, epoch) or (seed, step), so a run
 * resumed from a checkpoint continues exactly where it stopped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prior/prior.h"
#include "util/error.h"

siren_prior_train_opts siren_prior_train_opts_default(void) {
    siren_prior_train_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    o.batch = 32;
    o.context_min = 10;
    o.context_max = 200;
    o.lr = 1e-4f;
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    o.latent_weight = 0.1f;
    o.weight_weight = 100.0f;
    o.clip = 1.0f;
    o.seed = 0;
    o.threads = 0;
    return o;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

enum { STREAM_SHUFFLE = 1, STREAM_CONTEXT = 2 };

/* The images of epoch e in their shuffled order. */
static void shuffle(uint64_t seed, long e, size_t n, size_t *perm) {
    siren_rng r;
    siren_rng_seed(&r, siren_prior_seed(seed, STREAM_SHUFFLE, (uint64_t)e));
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)siren_rng_below(&r, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static siren_status check_opts(const siren_prior *p, const siren_image_set *set,
                               const siren_prior_train_opts *o) {
    const int S = p->cfg.size, N = S * S;
    if (set->width != S || set->height != S || set->channels != p->cfg.channels)
        return siren_fail(SIREN_EINVAL,
                          "the images are %dx%d with %d channel%s; the prior takes %dx%d "
                          "with %d", set->width, set->height, set->channels,
                          set->channels == 1 ? "" : "s", S, S, p->cfg.channels);
    if (set->count == 0) return siren_fail(SIREN_EINVAL, "no images to train on");
    if (o->epochs < 1 || o->batch < 1)
        return siren_fail(SIREN_EINVAL, "epochs and batch must be at least 1");
    if (o->context_min < 1 || o->context_min > o->context_max || o->context_max > N)
        return siren_fail(SIREN_EINVAL, "context %d..%d is not within 1..%d (%dx%d pixels)",
                          o->context_min, o->context_max, N, S, S);
    if (!(o->lr > 0 && isfinite(o->lr)) || !(o->beta1 >= 0 && o->beta1 < 1) ||
        !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0))
        return siren_fail(SIREN_EINVAL, "bad Adam settings (lr %g)", (double)o->lr);
    if (!(o->latent_weight >= 0) || !(o->weight_weight >= 0) || !(o->clip >= 0) ||
        !isfinite(o->latent_weight) || !isfinite(o->weight_weight) || !isfinite(o->clip))
        return siren_fail(SIREN_EINVAL, "loss weights and clip must be finite and >= 0");
    if (o->checkpoint_every < 0)
        return siren_fail(SIREN_EINVAL, "checkpoint_every must be >= 0");
    return SIREN_OK;
}

siren_status siren_prior_train(siren_prior *p, const siren_image_set *set,
                               const siren_prior_train_opts *opt,
                               siren_prior_train_result *res) {
    siren_status st = check_opts(p, set, opt);
    if (st) return st;
    const int S = p->cfg.size, N = S * S, C = p->cfg.channels;
    const size_t n = set->count;
    const int B = (size_t)opt->batch < n ? opt->batch : (int)n;
    const long per_epoch = (long)((n + B - 1) / B), steps = per_epoch * opt->epochs;
    /* What a checkpoint must share with the run resuming it. */
    char fp[160];
    snprintf(fp, sizeof fp, "images=%zu batch=%d context=%d..%d seed=%llu", n, B,
             opt->context_min, opt->context_max, (unsigned long long)opt->seed);
    siren_prior_work *w = NULL;
    siren_adam adam = {0};
    float *grad = malloc(p->n_params * sizeof *grad);
    size_t *perm = malloc(n * sizeof *perm);
    uint32_t *ctx = malloc((size_t)B * opt->context_max * sizeof *ctx);
    uint32_t *idx = malloc((size_t)N * sizeof *idx);
    const float **ims = malloc((size_t)B * sizeof *ims);
    if (!grad || !perm || !ctx || !idx || !ims) {
        st = siren_fail(SIREN_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = siren_prior_work_create(p, B, opt->context_max, opt->threads, &w)) ||
        (st = siren_adam_init(&adam, p->n_params)))
        goto done;
    const int T = siren_threads_resolve(opt->threads);
    long step = 0;
    if (opt->resume && (st = siren_prior_checkpoint_read(opt->resume, p, &adam, &step, fp)))
        goto done;
    const double t0 = now_s();
    double ep_loss = 0, ep_mse = 0, seen = 0;
    long ep_steps = 0;
    int stopped = 0;
    for (long e = step / per_epoch; e < opt->epochs && !stopped; e++) {
        shuffle(opt->seed, e, n, perm);
        ep_loss = ep_mse = 0;
        ep_steps = 0;
        for (long s = step - e * per_epoch; s < per_epoch; s++) {
            siren_rng r;
            siren_rng_seed(&r, siren_prior_seed(opt->seed, STREAM_CONTEXT, (uint64_t)step));
            const int nc = opt->context_min +
                           (int)siren_rng_below(&r, (uint64_t)(opt->context_max -
                                                               opt->context_min + 1));
            const size_t i0 = (size_t)s * B;
            const int Bb = n - i0 < (size_t)B ? (int)(n - i0) : B;
            for (int b = 0; b < Bb; b++) {
                ims[b] = set->data + perm[i0 + b] * (size_t)N * C;
                siren_prior_draw(&r, N, nc, idx, ctx + (size_t)b * nc);
            }
            double parts[3];
            const double loss = siren_prior_batch(p, w, ims, Bb, ctx, nc, opt->latent_weight,
                                                  opt->weight_weight, grad, parts);
            if (!isfinite(loss)) {
                st = siren_fail(SIREN_EDIVERGED, "training diverged at step %ld (loss %g); "
                                "try a lower learning rate", step + 1, loss);
                goto done;
            }
            if (opt->clip > 0) {
                double ss = 0;
#pragma omp simd reduction(+ : ss)
                for (size_t i = 0; i < p->n_params; i++) ss += (double)grad[i] * grad[i];
                const double norm = sqrt(ss);
                /* torch.nn.utils.clip_grad_norm_ */
                if (norm > opt->clip) {
                    const float k = (float)(opt->clip / (norm + 1e-6));
#pragma omp simd
                    for (size_t i = 0; i < p->n_params; i++) grad[i] *= k;
                }
            }
            siren_adam_step(&adam, p->params, grad, opt->lr, opt->beta1, opt->beta2, opt->eps,
                            T);
            step++;
            ep_loss += loss;
            ep_mse += parts[0];
            ep_steps++;
            seen += Bb;
            const double el = now_s() - t0;
            if (opt->progress) {
                siren_prior_progress pr = {(int)e + 1, opt->epochs, step, steps, el, loss,
                                           10 * log10(4.0 / parts[0]),
                                           el > 0 ? seen / el : 0};
                /* a stop asked after the last step changes nothing */
                if (opt->progress(opt->user, &pr) && step < steps) stopped = 1;
            }
            if (opt->checkpoint &&
                (stopped || (opt->checkpoint_every > 0 && step % opt->checkpoint_every == 0)) &&
                (st = siren_prior_checkpoint_write(opt->checkpoint, p, &adam, step, fp)))
                goto done;
            if (stopped) break;
        }
        if (!stopped && opt->checkpoint && opt->checkpoint_every == 0 &&
            (st = siren_prior_checkpoint_write(opt->checkpoint, p, &adam, step, fp)))
            goto done;
    }
    if (opt->checkpoint && !stopped && opt->checkpoint_every > 0 && step % opt->checkpoint_every &&
        (st = siren_prior_checkpoint_write(opt->checkpoint, p, &adam, step, fp)))
        goto done;
    if (res) {
        const double el = now_s() - t0;
        res->steps = step;
        res->epochs = (int)(step / per_epoch);
        res->seconds = el;
        res->images_per_s = el > 0 ? seen / el : 0;
        res->loss = ep_steps ? ep_loss / ep_steps : NAN;
        res->psnr_db = ep_steps ? 10 * log10(4.0 / (ep_mse / ep_steps)) : NAN;
    }
    if (stopped) st = siren_fail(SIREN_ECANCELED, "training stopped at step %ld", step);
done:
    siren_prior_work_free(w);
    siren_adam_free(&adam);
    free(grad);
    free(perm);
    free(ctx);
    free(idx);
    free(ims);
    return st;
}
