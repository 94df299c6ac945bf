/* siren stats MODEL | --arch A ...: the activation statistics behind the
 * SIREN initialisation (Sitzmann et al. 2020, Sec. 3.2 and supplement):
 * per layer, mean and standard deviation of the pre-activations and the
 * activations over points uniform in [-1, 1]^d, and their histograms.
 *
 * The library's forward pass keeps only what training needs, so the
 * per-layer values are recovered here from the public API: layer l's
 * z = W_l h_l + b_l is the output of a network truncated after linear layer
 * l (the same configuration with fewer hidden layers, its last linear layer
 * being rows of W_l), built with siren_net_create and given the model's
 * parameters. That costs O(L^2) layer evaluations instead of O(L), but each
 * one runs through the library's GEMMs and threads. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *stats_help =
    "Usage: siren stats MODEL [-o HIST.png] [--points N] [--json]\n"
    "       siren stats --arch A [--init I] [--hidden N] [--layers L] [--in D]\n"
    "                   [--omega0 W] [--omega0-hidden W] [--seed S] [-o HIST.png]\n"
    "\n"
    "Pass N points uniform in [-1, 1]^d through a model (or, with --arch, a\n"
    "freshly initialised network: the init report) and print, per linear\n"
    "layer, the mean and standard deviation of its pre-activations (the\n"
    "argument of the activation: omega_0 (W x + b) for a sine layer, W x + b\n"
    "for relu, tanh and the last, linear, layer) and of its activations. An\n"
    "encoding (relu-pe, ffn) is layer 0, a fixed sine layer of omega_0 1.\n"
    "The SIREN initialisation keeps them the same through depth: activations\n"
    "arcsine-distributed on [-1, 1] (std 1/sqrt 2 = 0.707), hidden\n"
    "pre-activations near N(0, 1) (here plus the bias's share omega_0 b).\n"
    "\n"
    "HIST.png has one row per layer, the pre-activations' histogram on the\n"
    "left, the activations' on the right, each over [max(min, mean - 4 std),\n"
    "min(max, mean + 4 std)], the last (linear) layer's on the left only; a\n"
    "gray line marks 0. For sine layers red curves show, at the same scale,\n"
    "the normal density of the same mean and std (left) and the arcsine\n"
    "density (right).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write the histograms to this PNG\n"
    "  --points N          points (65536)\n"
    "  --seed S            seed of the points and of a fresh network (0)\n"
    "  --threads N         threads (all cores)\n"
    "  --json              print one JSON object on stdout instead of the table\n"
    "A fresh network (no MODEL), defaults as `siren fit`:\n"
    "  --arch A            siren, relu, relu-pe, tanh, ffn\n"
    "  --init I            initialisation of every layer: siren, xavier-uniform,\n"
    "                      xavier-normal, kaiming-uniform, kaiming-normal, normal\n"
    "  --init-first I      the first layer's (of the MLP, after an encoding)\n"
    "  --init-hidden I     the other layers'\n"
    "  --init-std S        standard deviation of --init normal (1)\n"
    "  --hidden N          hidden width (256)\n"
    "  --layers N          hidden layers (3)\n"
    "  --in D              inputs (2)\n"
    "  --out M             outputs (1)\n"
    "  --omega0 W          omega_0 of the first layer (30)\n"
    "  --omega0-hidden W   omega_0 of the hidden layers (30)\n"
    "  --pe-freqs L        relu-pe: frequencies per input\n"
    "  --ff-features M     ffn: random frequencies, 2M features (256)\n"
    "  --ff-scale S        ffn: standard deviation of the frequencies (10)\n"
    "  -h, --help          this text\n";

/* ------------------------------------------------------------ the layout */

int cli_net_dims(const siren_net *net, int *dims) {
    const siren_config *c = siren_net_config(net);
    const int d = c->in_features, ef = c->encoding_features;
    int enc = 0;
    if (c->encoding == SIREN_ENC_PE) enc = 2 * d * (ef > 0 ? ef : d <= 2 ? 4 : 10);
    else if (c->encoding == SIREN_ENC_FFN) enc = 2 * (ef > 0 ? ef : 256);
    if (c->hidden_layers < 0 || c->hidden_layers + 3 > CLI_MAX_LINEAR) return 0;
    const int L = c->hidden_layers + 2 + (enc > 0);
    dims[0] = d;
    for (int l = 1; l < L; l++) dims[l] = c->hidden_features;
    if (enc) dims[1] = enc;
    dims[L] = c->out_features;
    size_t total = 0;
    for (int l = 0; l < L; l++) total += (size_t)dims[l + 1] * (dims[l] + 1);
    return total == siren_net_param_count(net) ? L : 0;
}

/* --------------------------------------------------- per-layer forward */

/* Offset of linear layer l's weight in the parameter block. */
static size_t layer_offset(const int *dims, int l) {
    size_t off = 0;
    for (int k = 0; k < l; k++) off += (size_t)dims[k + 1] * (dims[k] + 1);
    return off;
}

/* z (n, dims[l+1]) = W_l h_l + b_l at the points x (n, d), for l >= 1:
 * through truncated networks whose last linear layer is up to 1024 rows of
 * W_l (siren_config's output limit) at a time. */
static void layer_z(siren_net *net, const int *dims, int l, const float *x,
                    size_t n, int threads, float *z) {
    siren_config c = *siren_net_config(net);
    const int enc = c.encoding != SIREN_ENC_NONE, width = dims[l + 1];
    const float *P = siren_net_params(net);
    if (l == 1 && enc) {
        /* no hidden layer to drop: the encoding as a plain sine layer of
         * omega_0 1 (which it is) in front of the rows of W_1 */
        c.encoding = SIREN_ENC_NONE;
        c.encoding_features = 0;
        c.activation = SIREN_ACT_SINE;
        c.first_omega_0 = 1;
        c.hidden_features = dims[1];
        c.hidden_layers = 0;
    } else {
        c.hidden_layers = l - 1 - enc;
    }
    const size_t prefix = layer_offset(dims, l), in = (size_t)dims[l];
    float *y = NULL;
    for (int r0 = 0; r0 < width; r0 += 1024) {
        const int rows = width - r0 < 1024 ? width - r0 : 1024;
        c.out_features = rows;
        siren_net *t;
        if (siren_net_create(&c, 0, &t)) cli_fail();
        if (siren_net_param_count(t) != prefix + (size_t)rows * (in + 1))
            cli_die("stats: unexpected parameter layout");
        float *Q = siren_net_params(t);
        memcpy(Q, P, prefix * sizeof *Q);
        memcpy(Q + prefix, P + prefix + (size_t)r0 * in, (size_t)rows * in * sizeof *Q);
        memcpy(Q + prefix + (size_t)rows * in, P + prefix + (size_t)width * in + r0,
               (size_t)rows * sizeof *Q);
        if (rows == width) {
            if (siren_net_eval(t, x, n, z, threads)) cli_fail();
        } else {
            if (!y && !(y = malloc(n * 1024 * sizeof *y)))
                cli_die("out of memory for %zu points", n);
            if (siren_net_eval(t, x, n, y, threads)) cli_fail();
            for (size_t p = 0; p < n; p++)
                memcpy(z + p * width + r0, y + p * rows, (size_t)rows * sizeof *z);
        }
        siren_net_free(t);
    }
    free(y);
}

/* Layer 0 directly: d <= 16 inputs. */
static void layer0_z(siren_net *net, const int *dims, const float *x, size_t n, float *z) {
    const int d = dims[0], w = dims[1];
    const float *W = siren_net_params(net), *b = W + (size_t)w * d;
    for (size_t p = 0; p < n; p++)
        for (int j = 0; j < w; j++) {
            double s = b[j];
            for (int k = 0; k < d; k++) s += (double)W[(size_t)j * d + k] * x[p * d + k];
            z[p * w + j] = (float)s;
        }
}

/* --------------------------------------------------------- statistics */

enum { BINS = 64, BAR = 4, PANEL_H = 96, GAP = 4 };

typedef struct {
    double mean, std, min, max;
    double lo, hi;          /* the histogram's range */
    double count[BINS];
} dist;

typedef struct {
    const char *kind;       /* sine, relu, tanh, encoding, linear */
    float omega;            /* applied to W x + b (1 when none) */
    int in, out;
    dist pre, act;
} layer_stats;

static void dist_moments(dist *s, const float *v, size_t n) {
    double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double a = v[i];
        sum += a;
        if (a < mn) mn = a;
        if (a > mx) mx = a;
    }
    s->mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) sq += (v[i] - s->mean) * (v[i] - s->mean);
    s->std = sqrt(sq / (double)n);
    s->min = mn;
    s->max = mx;
    s->lo = fmax(mn, s->mean - 4 * s->std);
    s->hi = fmin(mx, s->mean + 4 * s->std);
    if (!(s->hi > s->lo)) { /* a constant: one bar in the middle */
        s->lo = s->mean - 0.5;
        s->hi = s->mean + 0.5;
    }
    memset(s->count, 0, sizeof s->count);
    for (size_t i = 0; i < n; i++) {
        double t = (v[i] - s->lo) / (s->hi - s->lo);
        if (t < 0 || t > 1 || !isfinite(t)) continue;
        int b = (int)(t * BINS);
        s->count[b < BINS ? b : BINS - 1] += 1;
    }
}

static float act_value(siren_activation a, float z) {
    switch (a) {
    case SIREN_ACT_RELU: return z > 0 ? z : 0;
    case SIREN_ACT_TANH: return tanhf(z);
    default: return sinf(z);
    }
}

/* Every layer's statistics at n points x (n, d). */
static void measure(siren_net *net, const int *dims, int L, const float *x, size_t n,
                    int threads, layer_stats *ls) {
    const siren_config *c = siren_net_config(net);
    const int enc = c->encoding != SIREN_ENC_NONE;
    int widest = 0;
    for (int l = 1; l <= L; l++) widest = dims[l] > widest ? dims[l] : widest;
    float *z = malloc(n * (size_t)widest * sizeof *z);
    if (!z) cli_die("out of memory for %zu points x %d features", n, widest);
    for (int l = 0; l < L; l++) {
        const int last = l == L - 1, w = dims[l + 1];
        const siren_activation a = enc && l == 0 ? SIREN_ACT_SINE : c->activation;
        layer_stats *s = &ls[l];
        s->in = dims[l];
        s->out = w;
        s->omega = 1;
        if (last) s->kind = "linear";
        else if (enc && l == 0) s->kind = "encoding";
        else s->kind = siren_activation_name(a);
        if (!last && a == SIREN_ACT_SINE && !(enc && l == 0))
            s->omega = l == enc ? c->first_omega_0 : c->hidden_omega_0;
        if (l == 0) layer0_z(net, dims, x, n, z);
        else layer_z(net, dims, l, x, n, threads, z);
        const size_t m = n * (size_t)w;
        for (size_t i = 0; i < m; i++) z[i] *= s->omega;
        dist_moments(&s->pre, z, m);
        if (!last)
            for (size_t i = 0; i < m; i++) z[i] = act_value(a, z[i]);
        dist_moments(&s->act, z, m);
    }
    free(z);
}

/* ---------------------------------------------------------- the picture */

static void put(siren_image *im, int x, int y, const float rgb[3]) {
    if (x < 0 || y < 0 || x >= im->width || y >= im->height) return;
    memcpy(im->data + ((size_t)y * im->width + x) * 3, rgb, 3 * sizeof(float));
}

/* The reference density at x (per unit), or -1 where it has none: 0 the
 * normal of the values' own mean and std (is it Gaussian?), 1 arcsine. */
static double ref_density(int which, const dist *s, double x) {
    if (which == 0) {
        double u = (x - s->mean) / s->std;
        return s->std > 0 ? exp(-0.5 * u * u) / (s->std * sqrt(2 * M_PI)) : -1;
    }
    if (fabs(x) >= 1) return -1;
    return 1 / (M_PI * sqrt(1 - x * x));
}

/* One histogram in the panel at (x0, y0); ref: -1 none, 0 normal, 1 arcsine. */
static void draw_panel(siren_image *im, int x0, int y0, const dist *s, size_t n,
                       const float bar[3], int ref) {
    static const float bg[3] = {0.95f, 0.95f, 0.95f}, zero[3] = {0.6f, 0.6f, 0.6f},
                       red[3] = {0.8f, 0.1f, 0.1f};
    const int W = BINS * BAR;
    for (int y = 0; y < PANEL_H; y++)
        for (int x = 0; x < W; x++) put(im, x0 + x, y0 + y, bg);
    double top = 0;
    for (int b = 0; b < BINS; b++) top = s->count[b] > top ? s->count[b] : top;
    if (top <= 0) return;
    const double span = s->hi - s->lo;
    if (s->lo < 0 && s->hi > 0) {
        int zx = (int)((0 - s->lo) / span * W);
        for (int y = 0; y < PANEL_H; y++) put(im, x0 + zx, y0 + y, zero);
    }
    for (int b = 0; b < BINS; b++) {
        int h = (int)lround(s->count[b] / top * (PANEL_H - 2));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < BAR - 1; x++)
                put(im, x0 + b * BAR + x, y0 + PANEL_H - 1 - y, bar);
    }
    if (ref < 0) return;
    /* expected count per bin = n * density * bin width, on the bars' scale */
    int prev = -1;
    for (int x = 0; x < W; x++) {
        double dens = ref_density(ref, s, s->lo + (x + 0.5) / W * span);
        if (dens < 0) { prev = -1; continue; }
        double h = n * dens * (span / BINS) / top * (PANEL_H - 2);
        int y = PANEL_H - 1 - (int)lround(h);
        if (y < 0) { prev = -1; continue; }
        int ya = prev < 0 ? y : prev, yb = y;
        if (ya > yb) { int t = ya; ya = yb; yb = t; }
        for (int yy = ya; yy <= yb; yy++) put(im, x0 + x, y0 + yy, red);
        prev = y;
    }
}

static void write_histograms(const char *path, const layer_stats *ls, int L,
                             size_t points) {
    static const float blue[3] = {0.20f, 0.40f, 0.75f}, orange[3] = {0.90f, 0.50f, 0.10f};
    const int PW = BINS * BAR;
    siren_image im = {2 * PW + 3 * GAP, L * PANEL_H + (L + 1) * GAP, 3, NULL};
    im.data = malloc((size_t)im.width * im.height * 3 * sizeof(float));
    if (!im.data) cli_die("out of memory");
    for (size_t i = 0; i < (size_t)im.width * im.height * 3; i++) im.data[i] = 1;
    for (int l = 0; l < L; l++) {
        const size_t n = points * (size_t)ls[l].out;
        const int sine = !strcmp(ls[l].kind, "sine"), y0 = GAP + l * (PANEL_H + GAP);
        draw_panel(&im, GAP, y0, &ls[l].pre, n, blue, sine ? 0 : -1);
        if (l < L - 1) /* the last layer is linear: no activation */
            draw_panel(&im, 2 * GAP + PW, y0, &ls[l].act, n, orange, sine ? 1 : -1);
    }
    siren_status st = siren_image_write_png(path, &im);
    free(im.data);
    if (st) cli_fail();
}

/* ------------------------------------------------------------- command */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int cli_stats(int argc, char **argv) {
    const char *cmd = "stats";
    const char *model = NULL, *out = NULL, *arch = NULL, *init_first = NULL,
               *init_hidden = NULL, *v;
    int json = 0, threads = 0, fresh_opt = 0, pe_freqs = 0, ff_features = 0;
    size_t points = 65536;
    uint64_t seed = 0;
    siren_config cfg = siren_config_default(2, 1);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(stats_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) out = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--points")))
            points = (size_t)cli_int(cmd, "--points", v, 1, 1L << 20);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            seed = (uint64_t)cli_int(cmd, "--seed", v, 0, __LONG_MAX__);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--arch"))) arch = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--init"))) {
            init_first = init_hidden = v;
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--init-first"))) {
            init_first = v;
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--init-hidden"))) {
            init_hidden = v;
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--init-std"))) {
            cfg.init_std = (float)cli_double(cmd, "--init-std", v, 1e-12, 1e6);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--hidden"))) {
            cfg.hidden_features = (int)cli_int(cmd, "--hidden", v, 1, 8192);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--layers"))) {
            cfg.hidden_layers = (int)cli_int(cmd, "--layers", v, 0, 64);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--in"))) {
            cfg.in_features = (int)cli_int(cmd, "--in", v, 1, 16);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--out"))) {
            cfg.out_features = (int)cli_int(cmd, "--out", v, 1, 1024);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0-hidden"))) {
            cfg.hidden_omega_0 = (float)cli_double(cmd, "--omega0-hidden", v, 1e-6, 1e6);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--omega0"))) {
            cfg.first_omega_0 = (float)cli_double(cmd, "--omega0", v, 1e-6, 1e6);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--pe-freqs"))) {
            pe_freqs = (int)cli_int(cmd, "--pe-freqs", v, 1, 30);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--ff-features"))) {
            ff_features = (int)cli_int(cmd, "--ff-features", v, 1, 4096);
            fresh_opt = 1;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--ff-scale"))) {
            cfg.ff_scale = (float)cli_double(cmd, "--ff-scale", v, 1e-6, 1e6);
            fresh_opt = 1;
        } else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model && !arch)
        cli_usage_error(cmd, "missing MODEL (or --arch A for a freshly initialised "
                             "network)");
    if (model && (arch || fresh_opt))
        cli_usage_error(cmd, "a MODEL has its own architecture; --arch, --init, "
                             "--hidden, ... describe a fresh network instead");
    if (out && !cli_has_ext(out, ".png"))
        cli_usage_error(cmd, "-o %s: the histograms are a .png", out);

    siren_net *net;
    if (model) {
        if (siren_net_load(model, &net)) cli_fail();
    } else {
        cli_apply_arch(cmd, &cfg, arch, init_first, init_hidden, pe_freqs, ff_features);
        if (siren_net_create(&cfg, seed, &net)) cli_fail();
    }
    const siren_config *c = siren_net_config(net);
    int dims[CLI_MAX_LINEAR + 1];
    const int L = cli_net_dims(net, dims);
    if (!L) cli_die("%s: parameters do not match the architecture's layout",
                    model ? model : "stats");
    if ((size_t)dims[0] * points > SIZE_MAX / sizeof(float)) cli_die("too many points");

    /* points uniform in [-1, 1]^d, from their own stream of the seed */
    const int d = dims[0];
    float *x = malloc(points * (size_t)d * sizeof *x);
    if (!x) cli_die("out of memory for %zu points", points);
    uint64_t rs = seed ^ 0x5eed5eed5eed5eedu;
    for (size_t i = 0; i < points * (size_t)d; i++)
        x[i] = (float)(2.0 * (double)(splitmix(&rs) >> 11) * 0x1.0p-53 - 1.0);
    layer_stats *ls = calloc((size_t)L, sizeof *ls);
    if (!ls) cli_die("out of memory");
    measure(net, dims, L, x, points, threads, ls);

    char abuf[32];
    const char *aname = siren_config_arch_name(c, abuf);
    if (out) write_histograms(out, ls, L, points);
    if (json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
        if (model) cJSON_AddStringToObject(o, "model", model);
        else cJSON_AddNullToObject(o, "model");
        cJSON_AddStringToObject(o, "arch", aname);
        cJSON_AddStringToObject(o, "init_first", siren_init_name(c->init_first));
        cJSON_AddStringToObject(o, "init_hidden", siren_init_name(c->init_hidden));
        cJSON_AddNumberToObject(o, "points", (double)points);
        cJSON_AddNumberToObject(o, "seed", (double)seed);
        if (out) cJSON_AddStringToObject(o, "histograms", out);
        for (int l = 0; l < L; l++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", l);
            cJSON_AddStringToObject(e, "kind", ls[l].kind);
            cJSON_AddNumberToObject(e, "omega", ls[l].omega);
            cJSON_AddNumberToObject(e, "in", ls[l].in);
            cJSON_AddNumberToObject(e, "out", ls[l].out);
            cJSON_AddNumberToObject(e, "pre_mean", ls[l].pre.mean);
            cJSON_AddNumberToObject(e, "pre_std", ls[l].pre.std);
            cJSON_AddNumberToObject(e, "pre_min", ls[l].pre.min);
            cJSON_AddNumberToObject(e, "pre_max", ls[l].pre.max);
            cJSON_AddNumberToObject(e, "act_mean", ls[l].act.mean);
            cJSON_AddNumberToObject(e, "act_std", ls[l].act.std);
            cJSON_AddNumberToObject(e, "act_min", ls[l].act.min);
            cJSON_AddNumberToObject(e, "act_max", ls[l].act.max);
            cJSON_AddItemToArray(arr, e);
        }
        cJSON_AddItemToObject(o, "layers", arr);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s: %s, init %s / %s, omega_0 %g / %g; %zu points uniform in [-1, 1]^%d\n",
               model ? model : "fresh network", aname, siren_init_name(c->init_first),
               siren_init_name(c->init_hidden), c->first_omega_0, c->hidden_omega_0,
               points, d);
        printf("layer  kind       omega   in -> out    pre mean    pre std   act mean"
               "    act std\n");
        for (int l = 0; l < L; l++) {
            const int last = l == L - 1;
            printf("%5d  %-9s %6g %4d -> %-5d %10.4f %10.4f", l, ls[l].kind,
                   ls[l].omega, ls[l].in, ls[l].out, ls[l].pre.mean, ls[l].pre.std);
            if (last) printf("          -          -\n");
            else printf(" %10.4f %10.4f\n", ls[l].act.mean, ls[l].act.std);
        }
        if (out) fprintf(stderr, "siren: histograms written to %s\n", out);
    }
    free(ls);
    free(x);
    siren_net_free(net);
    return 0;
}
