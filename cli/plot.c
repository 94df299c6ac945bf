/* Line plots as SVG, for `siren compare`: panels side by side sharing the
 * y axis label and one legend, axes with ticks at 1-2-5 steps, one colour
 * per series (the same in every panel). Plain text SVG 1.1, no scripts, so
 * a browser, GitHub and Inkscape show it alike. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A growing string. */
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)k;
        char *t = realloc(b->s, cap);
        if (!t) cli_die("out of memory for a plot");
        b->s = t;
        b->cap = cap;
    }
}

/* Text with &, < and > escaped (series names come from the command line). */
static void put_text(sbuf *b, const char *t) {
    for (; *t; t++) {
        if (*t == '&') put(b, "&amp;");
        else if (*t == '<') put(b, "&lt;");
        else if (*t == '>') put(b, "&gt;");
        else put(b, "%c", *t);
    }
}

/* A tick step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double tick_step(double span, int want) {
    if (!(span > 0)) return 1;
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                       "#bcbd22", "#17becf"};
#define N_COLOURS (int)(sizeof colours / sizeof *colours)

enum { PW = 420, PH = 300, ML = 64, MR = 16, MT = 40, MB = 48, LEGEND = 190 };

static void panel(sbuf *b, double ox, const char *xlabel, const char *ylabel,
                  const cli_series *s, int ns, int log_y) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (log_y) y = y > 0 ? log10(y) : NAN;
            if (!isfinite(x) || !isfinite(y)) continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    if (!(x1 >= x0)) x0 = 0, x1 = 1;
    if (!(y1 >= y0)) y0 = 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    const double xs = tick_step(x1 - x0, 5), ys = tick_step(y1 - y0, 5);
    x0 = fmin(0, floor(x0 / xs) * xs);
    x1 = ceil(x1 / xs) * xs;
    y0 = floor(y0 / ys) * ys;
    y1 = ceil(y1 / ys) * ys;
    const double pl = ox + ML, pr = ox + PW - MR, pt = MT, pb = PH - MB;
#define PX(x) (pl + ((x) - x0) / (x1 - x0) * (pr - pl))
#define PY(y) (pb - ((y) - y0) / (y1 - y0) * (pb - pt))
    put(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
           "stroke=\"#444\"/>\n", pl, pt, pr - pl, pb - pt);
    for (double t = x0; t <= x1 + 1e-9 * xs; t += xs) {
        put(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
            PX(t), pt, PX(t), pb);
        put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", PX(t),
            pb + 16, fabs(t) < 1e-12 * xs ? 0 : t);
    }
    for (double t = y0; t <= y1 + 1e-9 * ys; t += ys) {
        put(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
            pl, PY(t), pr, PY(t));
        double v = fabs(t) < 1e-12 * ys ? 0 : t;
        if (log_y) put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%g</text>\n",
                       pl - 4, PY(t) + 4, v);
        else put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", pl - 4,
                 PY(t) + 4, v);
    }
    put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (pl + pr) / 2, pb + 36.0);
    put_text(b, xlabel);
    put(b, "</text>\n<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
           "text-anchor=\"middle\">", ox + 16, (pt + pb) / 2);
    put_text(b, ylabel);
    put(b, "</text>\n");
    for (int k = 0; k < ns; k++) {
        put(b, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" points=\"",
            colours[k % N_COLOURS]);
        /* at most ~2 points per horizontal pixel: a 100k-step curve stays small */
        size_t every = s[k].n / (size_t)(2 * (pr - pl)) + 1;
        for (size_t i = 0; i < s[k].n; i += every) {
            double y = log_y ? (s[k].y[i] > 0 ? log10(s[k].y[i]) : NAN) : s[k].y[i];
            if (isfinite(s[k].x[i]) && isfinite(y))
                put(b, "%.1f,%.1f ", PX(s[k].x[i]), PY(fmin(fmax(y, y0), y1)));
        }
        put(b, "\"/>\n");
    }
#undef PX
#undef PY
}

char *cli_svg_plot(const char *title, int n_panels, const char *const *xlabels,
                   const char *ylabel, const cli_series *const *panels, int n_series,
                   int log_y) {
    sbuf b = {0};
    const int W = n_panels * PW + LEGEND, H = PH;
    put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
        W, H, W, H, W, H);
    put(&b, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", ML);
    put_text(&b, title);
    put(&b, "</text>\n");
    for (int p = 0; p < n_panels; p++)
        panel(&b, p * PW, xlabels[p], ylabel, panels[p], n_series, log_y);
    for (int k = 0; k < n_series; k++) {
        const double y = MT + 10 + 20.0 * k, x = n_panels * PW + 8.0;
        put(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>\n<text x=\"%.1f\" y=\"%.1f\">", x, y, x + 24, y,
            colours[k % N_COLOURS], x + 30, y + 4);
        put_text(&b, panels[0][k].name);
        put(&b, "</text>\n");
    }
    put(&b, "</svg>\n");
    return b.s;
}
