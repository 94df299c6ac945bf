/* siren spectrum MODEL|IMAGE -o spec.png: the 2-D Fourier magnitude, log
 * scale, zero frequency in the middle, so a band limit can be seen.
 *
 * An image's n x m pixels are one period, as the DFT sees them. A model is
 * sampled over exactly one period p of its coordinates, (row, col) = -1 +
 * p i / M, so a p-periodic network (--init-first tuner) has no leakage and
 * its integer frequencies k land on DFT bins k; p is the model's
 * tuner_period, else 2 n / (n - 1) for the fitted side n (the pixels as one
 * period). M defaults to twice the fitted side, which shows frequencies up
 * to twice the image's Nyquist: what a network adds above the band it was
 * fitted in. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *spectrum_help =
    "Usage: siren spectrum MODEL|IMAGE -o SPEC.png [--size N] [--range DECADES]\n"
    "                      [--json] [--threads N]\n"
    "\n"
    "Draw the 2-D Fourier magnitude of an image, or of a model sampled over\n"
    "one period of its coordinates (gray channel: the mean of the outputs):\n"
    "log10 |F|, zero frequency in the middle, white = the largest, black =\n"
    "--range decades below (default 6). A model fitted with --init-first tuner\n"
    "gets its band limit drawn as a red square; a model's fitted Nyquist band\n"
    "(half the fitted longer side, in cycles per period) is the green square.\n"
    "Prints the fraction of the energy (sum |F|^2 without the mean) outside\n"
    "the band limit B (for an image or a model without one: outside the\n"
    "fitted image's Nyquist band), and for a tuner model also above the\n"
    "fitted Nyquist band (--json: energy_outside, energy_above_nyquist).\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE  the PNG to write, required\n"
    "  --size N           model: samples per axis over the period (default\n"
    "                     twice the fitted longer side)\n"
    "  --range D          decades of magnitude shown (6)\n"
    "  --json             one JSON object on stdout\n"
    "  --threads N        threads (all cores)\n";

/* In-place complex DFT of n values with stride s: radix-2 FFT when n is a
 * power of two, else the direct sum (O(n^2), fine for the sizes here). */
static void dft(double *re, double *im, int n, int s, double *tr, double *ti) {
    if ((n & (n - 1)) == 0) {
        for (int i = 1, j = 0; i < n; i++) { /* bit reversal */
            int bit = n >> 1;
            for (; j & bit; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j) {
                double t = re[i * s]; re[i * s] = re[j * s]; re[j * s] = t;
                t = im[i * s]; im[i * s] = im[j * s]; im[j * s] = t;
            }
        }
        for (int len = 2; len <= n; len <<= 1) {
            const double a = -2 * M_PI / len;
            for (int i = 0; i < n; i += len)
                for (int k = 0; k < len / 2; k++) {
                    const double c = cos(a * k), sn = sin(a * k);
                    double *ur = re + (i + k) * s, *ui = im + (i + k) * s;
                    double *vr = re + (i + k + len / 2) * s, *vi = im + (i + k + len / 2) * s;
                    const double xr = *vr * c - *vi * sn, xi = *vr * sn + *vi * c;
                    *vr = *ur - xr;
                    *vi = *ui - xi;
                    *ur += xr;
                    *ui += xi;
                }
        }
        return;
    }
    for (int k = 0; k < n; k++) {
        double sr = 0, si = 0;
        for (int j = 0; j < n; j++) {
            const double a = -2 * M_PI * (double)((long)k * j % n) / n;
            sr += re[j * s] * cos(a) - im[j * s] * sin(a);
            si += re[j * s] * sin(a) + im[j * s] * cos(a);
        }
        tr[k] = sr;
        ti[k] = si;
    }
    for (int k = 0; k < n; k++) {
        re[k * s] = tr[k];
        im[k * s] = ti[k];
    }
}

int cli_spectrum(int argc, char **argv) {
    const char *cmd = "spectrum";
    const char *input = NULL, *output = NULL, *v;
    int size = 0, json = 0, threads = 0;
    double range = 6;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(spectrum_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) output = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            size = (int)cli_int(cmd, "--size", v, 2, 4096);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--range")))
            range = cli_double(cmd, "--range", v, 0.5, 30);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!input) input = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!input) cli_usage_error(cmd, "missing MODEL or IMAGE");
    if (!output) cli_usage_error(cmd, "missing -o SPEC.png");
    if (!cli_has_ext(output, ".png")) cli_usage_error(cmd, "%s: the output is a .png", output);

    int H, W, band = 0, nyq_h, nyq_w;
    double *re, *im;
    const int is_model = cli_has_ext(input, ".safetensors");
    if (is_model) {
        siren_net *net;
        if (siren_net_load(input, &net)) cli_fail();
        const siren_config *c = siren_net_config(net);
        if (c->in_features != 2) cli_die("%s: not an image model (%d inputs)", input, c->in_features);
        const char *sw = siren_net_get_meta(net, "image_width"),
                   *sh = siren_net_get_meta(net, "image_height"),
                   *sp = siren_net_get_meta(net, "tuner_period"),
                   *sb = siren_net_get_meta(net, "tuner_bandlimit");
        int fw = sw ? atoi(sw) : 256, fh = sh ? atoi(sh) : 256;
        if (fw < 2 || fh < 2) fw = fh = 256;
        const int side = fw > fh ? fw : fh;
        double p = sp ? atof(sp) : 2.0 * side / (side - 1);
        if (!(p > 0 && p < 1e6)) p = 2.0 * side / (side - 1);
        band = sb ? atoi(sb) : 0;
        H = W = size ? size : 2 * side;
        /* the fitted image's Nyquist band, in cycles per period */
        nyq_h = nyq_w = side / 2;
        const size_t n = (size_t)H * W;
        const int m = c->out_features;
        float *x = malloc(n * 2 * sizeof *x), *y = malloc(n * m * sizeof *y);
        re = calloc(n, sizeof *re);
        im = calloc(n, sizeof *im);
        if (!x || !y || !re || !im) cli_die("out of memory for a %dx%d spectrum", W, H);
        for (int r = 0; r < H; r++)
            for (int q = 0; q < W; q++) {
                x[2 * ((size_t)r * W + q)] = (float)(-1 + p * r / H);
                x[2 * ((size_t)r * W + q) + 1] = (float)(-1 + p * q / W);
            }
        if (siren_net_eval(net, x, n, y, threads)) cli_fail();
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int k = 0; k < m; k++) s += y[i * m + k];
            re[i] = s / m;
        }
        free(x);
        free(y);
        siren_net_free(net);
    } else {
        siren_image img;
        cli_load_image(input, 0, 0, 1, &img);
        H = img.height;
        W = img.width;
        nyq_h = H / 2;
        nyq_w = W / 2;
        const size_t n = (size_t)H * W;
        re = calloc(n, sizeof *re);
        im = calloc(n, sizeof *im);
        if (!re || !im) cli_die("out of memory for a %dx%d spectrum", W, H);
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int k = 0; k < img.channels; k++) s += img.data[i * img.channels + k];
            re[i] = 2 * s / img.channels - 1; /* the network's [-1, 1] units */
        }
        siren_image_free(&img);
    }
    double *tr = malloc(2 * (size_t)(H > W ? H : W) * sizeof *tr);
    if (!tr) cli_die("out of memory");
    for (int r = 0; r < H; r++) dft(re + (size_t)r * W, im + (size_t)r * W, W, 1, tr, tr + W);
    for (int q = 0; q < W; q++) dft(re + q, im + q, H, W, tr, tr + H);
    free(tr);

    /* energy outside the band (or the fitted Nyquist band), mean left out */
    const int bh = band ? band : nyq_h, bw = band ? band : nyq_w;
    double total = 0, outside = 0, outside_nyq = 0, mx = 0;
    for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++) {
            const int kr = r <= H / 2 ? r : r - H, kq = q <= W / 2 ? q : q - W;
            const double e = re[(size_t)r * W + q] * re[(size_t)r * W + q] +
                             im[(size_t)r * W + q] * im[(size_t)r * W + q];
            mx = fmax(mx, e);
            if (!kr && !kq) continue;
            total += e;
            if (abs(kr) > bh || abs(kq) > bw) outside += e;
            if (abs(kr) > nyq_h || abs(kq) > nyq_w) outside_nyq += e;
        }
    /* the picture: log10 |F| over `range` decades, shifted to the middle */
    siren_image pic = {W, H, 3, malloc((size_t)W * H * 3 * sizeof(float))};
    if (!pic.data) cli_die("out of memory");
    const double top = 0.5 * log10(mx > 0 ? mx : 1);
    for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++) {
            const int sr = (r + H / 2) % H, sq = (q + W / 2) % W; /* fftshift */
            const double e = re[(size_t)sr * W + sq] * re[(size_t)sr * W + sq] +
                             im[(size_t)sr * W + sq] * im[(size_t)sr * W + sq];
            double t = e > 0 ? (0.5 * log10(e) - top) / range + 1 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            for (int k = 0; k < 3; k++) pic.data[((size_t)r * W + q) * 3 + k] = (float)t;
        }
    /* squares: a model's fitted Nyquist band green (what the pixels saw),
     * the tuner band limit red (drawn over it when they coincide) */
    for (int sq = 0; sq < 2; sq++) {
        const int half = sq == 0 ? (is_model ? nyq_w : 0) : band;
        if (!half) continue;
        const int cr = H / 2, cq = W / 2;
        for (int r = cr - half; r <= cr + half; r++)
            for (int q = cq - half; q <= cq + half; q++) {
                if (r < 0 || q < 0 || r >= H || q >= W) continue;
                if (r != cr - half && r != cr + half && q != cq - half && q != cq + half) continue;
                float *px = pic.data + ((size_t)r * W + q) * 3;
                px[0] = sq == 1;
                px[1] = sq == 0;
                px[2] = 0;
            }
    }
    if (siren_image_write_png(output, &pic)) cli_fail();
    siren_image_free(&pic);
    free(re);
    free(im);
    const double frac = total > 0 ? outside / total : 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", input);
        cJSON_AddNumberToObject(o, "width", W);
        cJSON_AddNumberToObject(o, "height", H);
        cJSON_AddNumberToObject(o, "band", band ? band : bw);
        cJSON_AddBoolToObject(o, "tuner_band", band > 0);
        cJSON_AddNumberToObject(o, "energy_outside", frac);
        cJSON_AddNumberToObject(o, "nyquist", nyq_w > nyq_h ? nyq_w : nyq_h);
        cJSON_AddNumberToObject(o, "energy_above_nyquist", total > 0 ? outside_nyq / total : 0);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s: %dx%d spectrum written to %s; %.3g%% of the energy (mean left out) "
               "above %s %d cycles per period", input, W, H, output, 100 * frac,
               band ? "the band limit" : "the fitted Nyquist frequency", band ? band : bw);
        if (is_model && band && band != nyq_w)
            printf(", %.3g%% above the fitted Nyquist frequency %d",
                   total > 0 ? 100 * outside_nyq / total : 0.0, nyq_w);
        printf("\n");
    }
    return 0;
}
