/* siren prior train|complete|eval: a learned space of SIRENs (the paper's
 * hypernetwork, Sec. 4.4): train it on a set of images, complete one image
 * from a few of its pixels, and score it on held-out images per context
 * size, with a panel of examples. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *prior_help =
    "Usage: siren prior train DATASET -o PRIOR [options]\n"
    "       siren prior complete PRIOR IMAGE (--context N | --mask M) -o OUT.png\n"
    "       siren prior eval PRIOR DATASET [--context 10,50,100,200] [--json]\n"
    "                        [--panel PANEL.png]\n"
    "\n"
    "A prior over SIRENs, as the official train_img_neural_process: a set\n"
    "encoder (an MLP on each context pixel's (row, col, value), averaged over\n"
    "the context) gives a latent code, a hypernetwork (one ReLU MLP per\n"
    "weight and bias tensor) turns it into all parameters of a small SIREN,\n"
    "which renders the whole image. Loss: mean (SIREN - image)^2 over all\n"
    "pixels + 0.1 mean z^2 + 100 mean of the generated parameters^2.\n"
    "\n"
    "DATASET: a folder holding Fashion-MNIST or MNIST (Debian's\n"
    "dataset-fashion-mnist: /usr/share/datasets/fashion-mnist; train uses the\n"
    "train split, eval the t10k test split), an IDX file of uint8 images, or\n"
    "a folder of pictures (PNG, JPEG, BMP, PGM, PPM), each resized to the\n"
    "prior's size and converted to the first picture's gray or RGB.\n"
    "Run 'siren prior train --help' (complete, eval) for each command's options.\n";

static const char *train_help =
    "Usage: siren prior train DATASET -o PRIOR [options]\n"
    "\n"
    "Train a prior on DATASET (see 'siren prior --help') and write it as\n"
    "safetensors. A progress bar (epoch, step, loss, PSNR of the batch's\n"
    "reconstructions, images/s, ETA) on stderr when it is a terminal.\n"
    "\n"
    "Options:\n"
    "  -o PRIOR             output file (required)\n"
    "  --size N             images are resized to N x N (Fashion-MNIST/IDX: their\n"
    "                       own size, 28; a folder of pictures: 32)\n"
    "  --limit N            only the first N images\n"
    "  --epochs N           passes over the images (1)\n"
    "  --batch B            images per step (32; official 100)\n"
    "  --context MIN,MAX    context pixels per image, drawn per batch (10,200)\n"
    "  --lr X               Adam learning rate (1e-4; official 5e-5)\n"
    "  --clip X             clip the gradient's norm to X (1, official; 0 off)\n"
    "  --latent-weight X    weight of mean z^2 (0.1)\n"
    "  --weight-weight X    weight of the mean generated parameter^2 (100)\n"
    "  --hidden N           the generated SIREN's width (64; official 256)\n"
    "  --layers N           its hidden-to-hidden layers (3)\n"
    "  --omega0 X           its omega_0 (30)\n"
    "  --latent N           latent code size (256)\n"
    "  --encoder relu|sine  set encoder activation (relu; the official's default\n"
    "                       is sine, sin(30 x))\n"
    "  --encoder-hidden N   set encoder width (256)\n"
    "  --encoder-layers N   its hidden-to-hidden layers (2)\n"
    "  --hyper-hidden N     hypernetwork width (256)\n"
    "  --hyper-layers N     its hidden-to-hidden layers (1)\n"
    "  --seed N             initialisation, shuffling and contexts (0)\n"
    "  --threads N          threads (all cores)\n"
    "  --checkpoint FILE    write the training state there atomically after each\n"
    "                       epoch (or every --checkpoint-every N steps) and on\n"
    "                       SIGINT/SIGTERM\n"
    "  --checkpoint-every N steps between checkpoints (0: once per epoch)\n"
    "  --resume FILE        continue from a checkpoint (same data, batch, context\n"
    "                       and seed: the same prior as an uninterrupted run)\n"
    "  --log FILE.csv       write step,seconds,loss,psnr for every step\n"
    "  --json               print a JSON summary on stdout at the end\n"
    "  --quiet              no progress bar\n";

static const char *complete_help =
    "Usage: siren prior complete PRIOR IMAGE (--context N | --mask M) -o OUT.png\n"
    "                            [options]\n"
    "\n"
    "Represent IMAGE (resized to the prior's size, converted to its channels)\n"
    "by the SIREN the prior generates from some of its pixels, and write that\n"
    "SIREN's rendering. Prints the PSNR (dB, [0, 1] range) against IMAGE.\n"
    "\n"
    "Options:\n"
    "  -o OUT.png           the reconstruction (required)\n"
    "  --context N          N pixels drawn at random (--seed)\n"
    "  --mask M             the pixels where the image M (resized to the prior's\n"
    "                       size) is brighter than 0.5\n"
    "  --seed N             seed of --context (0)\n"
    "  --size WxH           render at WxH instead of the prior's size\n"
    "  --context-out C.png  the context: kept pixels, the others gray\n"
    "  --model M.safetensors  also save the generated SIREN as an image model\n"
    "  --threads N          threads (all cores)\n"
    "  --json               print {\"context\", \"psnr_db\"} on stdout\n";

static const char *eval_help =
    "Usage: siren prior eval PRIOR DATASET [--context 10,50,100,200] [options]\n"
    "\n"
    "Mean PSNR (dB, [0, 1] range, reconstructions clamped) over DATASET's\n"
    "images (Fashion-MNIST: the t10k test split) for each context size, each\n"
    "image's context pixels drawn at random from --seed; a table, or with\n"
    "--json {\"context\": [...], \"psnr_db\": [...], \"images\": N}.\n"
    "\n"
    "Options:\n"
    "  --context LIST       context sizes, comma-separated (10,50,100,200)\n"
    "  --limit N            only the first N images\n"
    "  --seed N             seed of the contexts (0)\n"
    "  --panel PANEL.png    a picture of the first --panel-images images: per\n"
    "                       context size the context (kept pixels, others gray)\n"
    "                       and the reconstruction, then the ground truth\n"
    "  --panel-images N     rows of the panel (6)\n"
    "  --panel-scale K      each pixel drawn K x K (4)\n"
    "  --threads N          threads (all cores)\n"
    "  --json               print JSON on stdout\n";

/* ---------------------------------------------------------------- helpers */

/* img converted to `channels` (luma or copies) and resized to size x size. */
static void fit_image(siren_image *img, int size, int channels) {
    if (img->channels != channels) {
        const size_t n = (size_t)img->width * img->height;
        float *d = malloc(n * channels * sizeof *d);
        if (!d) cli_die("out of memory");
        for (size_t i = 0; i < n; i++) {
            const float *p = img->data + i * img->channels;
            if (channels == 1) d[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
            else d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = p[0];
        }
        free(img->data);
        img->data = d;
        img->channels = channels;
    }
    if (img->width != size || img->height != size) {
        siren_image small;
        if (siren_image_resize(img, size, size, &small)) cli_fail();
        siren_image_free(img);
        *img = small;
    }
}

/* Context picture: the kept pixels, the others mid-gray. */
static void context_picture(const siren_image *img, const uint8_t *mask, siren_image *out) {
    const size_t n = (size_t)img->width * img->height;
    *out = *img;
    out->data = malloc(n * img->channels * sizeof(float));
    if (!out->data) cli_die("out of memory");
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < img->channels; c++)
            out->data[i * img->channels + c] = mask[i] ? img->data[i * img->channels + c] : 0.5f;
}

static double psnr01(const siren_image *a, const siren_image *b) {
    return siren_psnr(a->data, b->data, (size_t)a->width * a->height * a->channels, 1.0);
}

/* --context MIN,MAX */
static void parse_range(const char *cmd, const char *s, int *lo, int *hi) {
    char buf[64];
    const char *comma = strchr(s, ',');
    if (!comma || (size_t)(comma - s) >= sizeof buf)
        cli_usage_error(cmd, "--context: '%s' is not MIN,MAX", s);
    memcpy(buf, s, comma - s);
    buf[comma - s] = 0;
    *lo = (int)cli_int(cmd, "--context", buf, 1, 1 << 20);
    *hi = (int)cli_int(cmd, "--context", comma + 1, 1, 1 << 20);
    if (*lo > *hi) cli_usage_error(cmd, "--context: MIN %d is above MAX %d", *lo, *hi);
}

/* --context 10,50,... (at most 32) */
static int parse_list(const char *cmd, const char *s, int *out) {
    int n = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf) cli_usage_error(cmd, "--context: list too long");
    strcpy(buf, s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == 32) cli_usage_error(cmd, "--context: at most 32 sizes");
        out[n++] = (int)cli_int(cmd, "--context", t, 1, 1 << 20);
    }
    if (n == 0) cli_usage_error(cmd, "--context: no sizes in '%s'", s);
    return n;
}

/* ------------------------------------------------------------------ train */

typedef struct {
    cli_progress log; /* the CSV log and the interrupt check */
    int show;
    double last_draw;
} train_progress;

static int train_cb(void *user, const siren_prior_progress *p) {
    train_progress *tp = user;
    siren_progress sp;
    memset(&sp, 0, sizeof sp);
    sp.step = (int)p->step;
    sp.steps = (int)p->steps;
    sp.seconds = p->seconds;
    sp.loss = p->loss;
    sp.psnr_db = p->psnr_db;
    if (cli_progress_cb(&tp->log, &sp)) return 1;
    if (!tp->show) return 0;
    const double t = cli_seconds();
    if (p->step != p->steps && tp->last_draw >= 0 && t - tp->last_draw < 0.1) return 0;
    tp->last_draw = t;
    char bar[21];
    int fill = (int)(20.0 * p->step / p->steps);
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    const double rate = p->seconds > 0 ? p->step / p->seconds : 0;
    fprintf(stderr, "\rprior [%s] epoch %d/%d step %ld/%ld  loss %.3e  PSNR %.2f dB  "
                    "%.0f images/s  ETA %.0f s  ",
            bar, p->epoch, p->epochs, p->step, p->steps, p->loss, p->psnr_db, p->images_per_s,
            rate > 0 ? (p->steps - p->step) / rate : 0);
    fflush(stderr);
    return 0;
}

static int prior_train(int argc, char **argv) {
    const char *cmd = "prior train";
    const char *data = NULL, *out = NULL, *log_path = NULL, *v;
    int size = 0, json = 0, quiet = 0;
    long limit = 0;
    siren_prior_train_opts o = siren_prior_train_opts_default();
    siren_prior_config c = siren_prior_config_default(28, 1);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(train_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if (cli_flag(a, "--quiet")) quiet = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o"))) out = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            size = (int)cli_int(cmd, "--size", v, 2, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--limit")))
            limit = cli_int(cmd, "--limit", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--epochs")))
            o.epochs = (int)cli_int(cmd, "--epochs", v, 1, 1000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--batch")))
            o.batch = (int)cli_int(cmd, "--batch", v, 1, 100000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--context")))
            parse_range(cmd, v, &o.context_min, &o.context_max);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--lr")))
            o.lr = (float)cli_double(cmd, "--lr", v, 1e-12, 10);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--clip")))
            o.clip = (float)cli_double(cmd, "--clip", v, 0, 1e30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--latent-weight")))
            o.latent_weight = (float)cli_double(cmd, "--latent-weight", v, 0, 1e30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--weight-weight")))
            o.weight_weight = (float)cli_double(cmd, "--weight-weight", v, 0, 1e30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--hidden")))
            c.hidden_features = (int)cli_int(cmd, "--hidden", v, 1, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--layers")))
            c.hidden_layers = (int)cli_int(cmd, "--layers", v, 0, 16);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0")))
            c.omega_0 = (float)cli_double(cmd, "--omega0", v, 1e-6, 1e4);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--latent")))
            c.latent = (int)cli_int(cmd, "--latent", v, 1, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--encoder"))) {
            if (!strcmp(v, "relu")) c.encoder_activation = SIREN_ACT_RELU;
            else if (!strcmp(v, "sine")) c.encoder_activation = SIREN_ACT_SINE;
            else cli_usage_error(cmd, "--encoder %s: relu or sine", v);
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--encoder-hidden")))
            c.encoder_hidden = (int)cli_int(cmd, "--encoder-hidden", v, 1, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--encoder-layers")))
            c.encoder_layers = (int)cli_int(cmd, "--encoder-layers", v, 0, 16);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--hyper-hidden")))
            c.hyper_hidden = (int)cli_int(cmd, "--hyper-hidden", v, 1, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--hyper-layers")))
            c.hyper_layers = (int)cli_int(cmd, "--hyper-layers", v, 0, 16);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            o.seed = (uint64_t)cli_int(cmd, "--seed", v, 0, 1L << 62);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            o.threads = (int)cli_int(cmd, "--threads", v, 1, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--checkpoint"))) o.checkpoint = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--checkpoint-every")))
            o.checkpoint_every = (int)cli_int(cmd, "--checkpoint-every", v, 0, 1 << 30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--resume"))) o.resume = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--log"))) log_path = v;
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!data) data = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!data) cli_usage_error(cmd, "missing DATASET");
    if (!out) cli_usage_error(cmd, "missing -o PRIOR");
    siren_image_set set;
    if (siren_image_set_load(data, 0, size, (size_t)limit, &set)) cli_fail();
    if (set.width != set.height)
        cli_die("%s: the images are %dx%d; a prior takes square images (--size N)", data,
                set.width, set.height);
    c.size = set.width;
    c.channels = set.channels;
    const int npix = set.width * set.height;
    if (o.context_max > npix)
        cli_usage_error(cmd, "--context: MAX %d is more than the %dx%d images' %d pixels",
                        o.context_max, set.width, set.height, npix);
    siren_prior *p;
    if (siren_prior_create(&c, o.seed, &p)) cli_fail();
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", set.count);
    if (siren_prior_set_meta(p, "dataset", data) || siren_prior_set_meta(p, "images", buf))
        cli_fail();
    train_progress tp;
    cli_progress_open(&tp.log, "prior", 1, log_path);
    tp.show = !quiet && isatty(2);
    tp.last_draw = -1;
    o.progress = train_cb;
    o.user = &tp;
    cli_catch_signals();
    siren_prior_train_result res;
    siren_status st = siren_prior_train(p, &set, &o, &res);
    if (tp.show && tp.last_draw >= 0) fputc('\n', stderr);
    cli_progress_close(&tp.log, st == SIREN_OK);
    if (st == SIREN_ECANCELED && cli_interrupted) {
        if (o.checkpoint)
            fprintf(stderr, "siren: interrupted at step %ld; checkpoint written to %s "
                            "(continue with --resume %s)\n", res.steps, o.checkpoint, o.checkpoint);
        else
            fprintf(stderr, "siren: interrupted at step %ld; nothing written "
                            "(--checkpoint FILE keeps the state)\n", res.steps);
        return 128 + (int)cli_interrupted;
    }
    if (st) cli_fail();
    snprintf(buf, sizeof buf, "%ld", res.steps);
    if (siren_prior_set_meta(p, "steps", buf)) cli_fail();
    snprintf(buf, sizeof buf, "%d", res.epochs);
    if (siren_prior_set_meta(p, "epochs", buf) || siren_prior_save(p, out)) cli_fail();
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "dataset", data);
        cJSON_AddStringToObject(j, "output", out);
        cJSON_AddNumberToObject(j, "images", (double)set.count);
        cJSON_AddNumberToObject(j, "size", set.width);
        cJSON_AddNumberToObject(j, "channels", set.channels);
        cJSON_AddNumberToObject(j, "epochs", res.epochs);
        cJSON_AddNumberToObject(j, "steps", (double)res.steps);
        cJSON_AddNumberToObject(j, "seconds", res.seconds);
        cJSON_AddNumberToObject(j, "images_per_s", res.images_per_s);
        cJSON_AddNumberToObject(j, "loss", res.loss);
        cJSON_AddNumberToObject(j, "psnr_db", res.psnr_db);
        cJSON_AddNumberToObject(j, "params", (double)siren_prior_param_count(p));
        cJSON_AddNumberToObject(j, "siren_params", (double)siren_prior_siren_param_count(p));
        cJSON_AddNumberToObject(j, "seed", (double)o.seed);
        char *s = cJSON_PrintUnformatted(j);
        puts(s);
        free(s);
        cJSON_Delete(j);
    } else if (!quiet) {
        fprintf(stderr, "siren: %s: %zu images, %d epoch%s (%ld steps) in %.1f s, %.0f images/s, "
                        "last epoch loss %.4g, PSNR %.2f dB -> %s\n", data, set.count, res.epochs,
                res.epochs == 1 ? "" : "s", res.steps, res.seconds, res.images_per_s, res.loss,
                res.psnr_db, out);
    }
    siren_prior_free(p);
    siren_image_set_free(&set);
    return 0;
}

/* --------------------------------------------------------------- complete */

static int prior_complete(int argc, char **argv) {
    const char *cmd = "prior complete";
    const char *prior_path = NULL, *image = NULL, *out = NULL, *mask_path = NULL;
    const char *ctx_out = NULL, *model_out = NULL, *v;
    long context = 0;
    uint64_t seed = 0;
    int json = 0, threads = 0, w = 0, h = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(complete_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o"))) out = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--context")))
            context = cli_int(cmd, "--context", v, 1, 1L << 30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--mask"))) mask_path = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            seed = (uint64_t)cli_int(cmd, "--seed", v, 0, 1L << 62);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size"))) cli_size(cmd, "--size", v, &w, &h);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--context-out"))) ctx_out = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--model"))) model_out = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 4096);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!prior_path) prior_path = a;
        else if (!image) image = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!prior_path || !image) cli_usage_error(cmd, "missing PRIOR or IMAGE");
    if (!out) cli_usage_error(cmd, "missing -o OUT.png");
    if (!context == !mask_path) cli_usage_error(cmd, "give one of --context N and --mask M");
    siren_prior *p;
    if (siren_prior_load(prior_path, &p)) cli_fail();
    const siren_prior_config *c = siren_prior_get_config(p);
    const int S = c->size, N = S * S;
    if (context > N)
        cli_usage_error(cmd, "--context %ld: the prior's images have %d pixels", context, N);
    siren_image img, rec, ref;
    cli_load_image(image, 0, 0, 0, &img);
    fit_image(&img, S, c->channels);
    uint8_t *mask = malloc(N);
    if (!mask) cli_die("out of memory");
    if (mask_path) {
        siren_image m;
        cli_load_image(mask_path, 0, 0, 1, &m);
        fit_image(&m, S, 1);
        context = 0;
        for (int i = 0; i < N; i++) context += mask[i] = m.data[i] > 0.5f;
        siren_image_free(&m);
        if (!context) cli_die("%s: keeps no pixel (white = kept, after resizing to %dx%d)",
                              mask_path, S, S);
    } else if (siren_prior_context(S, S, (size_t)context, seed, mask)) {
        cli_fail();
    }
    siren_net *net;
    if (siren_prior_generate(p, &img, mask, &net)) cli_fail();
    if (model_out && siren_net_save(net, model_out)) cli_fail();
    if (siren_render_image(net, w ? w : S, h ? h : S, threads, &rec)) cli_fail();
    if (siren_image_write_png(out, &rec)) cli_fail();
    if (ctx_out) {
        siren_image cp;
        context_picture(&img, mask, &cp);
        if (siren_image_write_png(ctx_out, &cp)) cli_fail();
        siren_image_free(&cp);
    }
    /* the PSNR at the prior's size, whatever size was rendered */
    if (siren_render_image(net, S, S, threads, &ref)) cli_fail();
    const double psnr = psnr01(&ref, &img);
    if (json)
        printf("{\"context\": %ld, \"psnr_db\": %.4f, \"size\": %d}\n", context, psnr, S);
    else
        printf("%s: %ld context pixels of %d, PSNR %.2f dB against %s at %dx%d -> %s\n",
               prior_path, context, N, psnr, image, S, S, out);
    siren_image_free(&ref);
    siren_image_free(&rec);
    siren_image_free(&img);
    siren_net_free(net);
    free(mask);
    siren_prior_free(p);
    return 0;
}

/* -------------------------------------------------------------------- eval */

/* Tiles of S x S pixels scaled K times, 4-pixel white gaps; rows are
 * images, columns per context size (context, reconstruction) then the
 * ground truth. */
static void panel(const siren_prior *p, const siren_image_set *set, const int *ctx, int n,
                  int rows, int K, uint64_t seed, int threads, const char *path) {
    const int S = set->width, C = set->channels, gap = 4, tile = S * K;
    const int cols = 2 * n + 1;
    siren_image pic;
    pic.width = cols * tile + (cols + 1) * gap;
    pic.height = rows * tile + (rows + 1) * gap;
    pic.channels = C;
    pic.data = malloc((size_t)pic.width * pic.height * C * sizeof(float));
    uint8_t *mask = malloc((size_t)S * S);
    if (!pic.data || !mask) cli_die("out of memory");
    for (size_t i = 0; i < (size_t)pic.width * pic.height * C; i++) pic.data[i] = 1.0f;
    for (int r = 0; r < rows; r++) {
        siren_image img = {S, S, C, set->data + (size_t)r * S * S * C};
        for (int col = 0; col < cols; col++) {
            siren_image t = img, made = {0, 0, 0, NULL};
            if (col < 2 * n) {
                const int k = col / 2;
                if (siren_prior_context(S, S, (size_t)ctx[k],
                                        siren_prior_context_seed(seed, ctx[k], (size_t)r), mask))
                    cli_fail();
                if (col % 2 == 0) context_picture(&img, mask, &made);
                else if (siren_prior_complete(p, &img, mask, 0, 0, threads, &made)) cli_fail();
                t = made;
            }
            const int x0 = gap + col * (tile + gap), y0 = gap + r * (tile + gap);
            for (int y = 0; y < tile; y++)
                for (int x = 0; x < tile; x++)
                    for (int ch = 0; ch < C; ch++)
                        pic.data[(((size_t)(y0 + y) * pic.width) + x0 + x) * C + ch] =
                            t.data[((size_t)(y / K) * S + x / K) * C + ch];
            if (made.data) siren_image_free(&made);
        }
    }
    if (siren_image_write_png(path, &pic)) cli_fail();
    free(mask);
    siren_image_free(&pic);
}

static int prior_eval(int argc, char **argv) {
    const char *cmd = "prior eval";
    const char *prior_path = NULL, *data = NULL, *panel_path = NULL, *v;
    int ctx[32] = {10, 50, 100, 200}, n = 4, json = 0, threads = 0, rows = 6, scale = 4;
    long limit = 0;
    uint64_t seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(eval_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--context"))) n = parse_list(cmd, v, ctx);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--limit")))
            limit = cli_int(cmd, "--limit", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            seed = (uint64_t)cli_int(cmd, "--seed", v, 0, 1L << 62);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--panel"))) panel_path = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--panel-images")))
            rows = (int)cli_int(cmd, "--panel-images", v, 1, 100);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--panel-scale")))
            scale = (int)cli_int(cmd, "--panel-scale", v, 1, 32);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 4096);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!prior_path) prior_path = a;
        else if (!data) data = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!prior_path || !data) cli_usage_error(cmd, "missing PRIOR or DATASET");
    siren_prior *p;
    if (siren_prior_load(prior_path, &p)) cli_fail();
    const siren_prior_config *c = siren_prior_get_config(p);
    for (int k = 0; k < n; k++)
        if (ctx[k] > c->size * c->size)
            cli_usage_error(cmd, "--context %d: the prior's images have %d pixels", ctx[k],
                            c->size * c->size);
    siren_image_set set;
    if (siren_image_set_load(data, 1, c->size, (size_t)limit, &set)) cli_fail();
    if (set.channels != c->channels)
        cli_die("%s: images with %d channel%s; %s takes %d", data, set.channels,
                set.channels == 1 ? "" : "s", prior_path, c->channels);
    double psnr[32];
    const double t0 = cli_seconds();
    if (siren_prior_eval(p, &set, ctx, n, 0, seed, threads, psnr)) cli_fail();
    const double secs = cli_seconds() - t0;
    if (panel_path) panel(p, &set, ctx, n, rows < (int)set.count ? rows : (int)set.count, scale,
                          seed, threads, panel_path);
    if (json) {
        cJSON *j = cJSON_CreateObject(), *a = cJSON_CreateArray(), *b = cJSON_CreateArray();
        for (int k = 0; k < n; k++) {
            cJSON_AddItemToArray(a, cJSON_CreateNumber(ctx[k]));
            cJSON_AddItemToArray(b, cJSON_CreateNumber(round(psnr[k] * 1e4) / 1e4));
        }
        cJSON_AddItemToObject(j, "context", a);
        cJSON_AddItemToObject(j, "psnr_db", b);
        cJSON_AddNumberToObject(j, "images", (double)set.count);
        cJSON_AddNumberToObject(j, "seconds", secs);
        char *s = cJSON_PrintUnformatted(j);
        puts(s);
        free(s);
        cJSON_Delete(j);
    } else {
        printf("%s on %s: %zu images of %dx%d, mean PSNR per context size\n", prior_path, data,
               set.count, c->size, c->size);
        printf("  context  PSNR (dB)\n");
        for (int k = 0; k < n; k++) printf("  %7d  %9.2f\n", ctx[k], psnr[k]);
    }
    siren_image_set_free(&set);
    siren_prior_free(p);
    return 0;
}

int cli_prior(int argc, char **argv) {
    if (argc < 1) {
        fputs(prior_help, stderr);
        return EXIT_USAGE;
    }
    const char *c = argv[0];
    if (!strcmp(c, "--help") || !strcmp(c, "-h")) {
        fputs(prior_help, stdout);
        return 0;
    }
    if (!strcmp(c, "train")) return prior_train(argc - 1, argv + 1);
    if (!strcmp(c, "complete")) return prior_complete(argc - 1, argv + 1);
    if (!strcmp(c, "eval")) return prior_eval(argc - 1, argv + 1);
    cli_usage_error("prior", "unknown command '%s' (train, complete, eval)", c);
}
