/* Writes the seed corpora in fuzz/seeds/ (`make fuzz-seeds`; the output is
 * committed, so the fuzzers need nothing but this tree): small valid files
 * of every kind each reader knows, made with the project's own writers where
 * it has them (models, safetensors), stb_image_write for JPEG and BMP, and
 * by hand where a variant needs it (PNG colour types, bit depths, palette
 * and interlacing; PGM/PPM in all four forms). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image_write.h>

#include "io/safetensors.h"
#include "siren.h"

static void put(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void ok(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "make_seeds: %s failed: %s\n", what, siren_last_error());
        exit(1);
    }
}

/* ---------------------------------------------------------------- models */

static void model(const char *path, int in, int out, int hidden, int layers,
                  siren_activation act, const char *task) {
    siren_config c = siren_config_default(in, out);
    siren_net *net;
    c.hidden_features = hidden;
    c.hidden_layers = layers;
    c.activation = act;
    ok(siren_net_create(&c, 1, &net) == SIREN_OK, path);
    if (task) ok(siren_net_set_meta(net, "task", task) == SIREN_OK, path);
    ok(siren_net_save(net, path) == SIREN_OK, path);
    siren_net_free(net);
}

/* A model stored as F64, which the loader converts. */
static void model_f64(const char *path) {
    static double w0[2 * 2], b0[2], w1[1 * 2], b1[1];
    for (int i = 0; i < 4; i++) w0[i] = 0.25 * (i + 1);
    b0[0] = 0.5; b0[1] = -0.5; w1[0] = 1; w1[1] = -1; b1[0] = 0.125;
    siren_st_tensor t[4] = {
        {"net.0.linear.weight", SIREN_DT_F64, 2, {2, 2}, w0},
        {"net.0.linear.bias", SIREN_DT_F64, 1, {2}, b0},
        {"net.1.weight", SIREN_DT_F64, 2, {1, 2}, w1},
        {"net.1.bias", SIREN_DT_F64, 1, {1}, b1},
    };
    const char *k[] = {"format", "version", "activation", "in_features",
                       "out_features", "hidden_features", "hidden_layers",
                       "first_omega_0", "hidden_omega_0", "task"};
    const char *v[] = {"siren", "1", "sine", "2", "1", "2", "0", "30", "30",
                       "image"};
    ok(siren_st_write(path, t, 4, k, v, 10) == SIREN_OK, path);
}

/* Not a model: a scalar, an empty tensor, 3 dimensions, F32 and F64. */
static void plain_st(const char *path) {
    static float s = 3.5f, cube[2 * 3 * 2];
    static double d[3] = {1, -2, 0.5};
    for (int i = 0; i < 12; i++) cube[i] = (float)i;
    siren_st_tensor t[4] = {
        {"scalar", SIREN_DT_F32, 0, {0}, &s},
        {"empty", SIREN_DT_F32, 1, {0}, NULL},
        {"cube", SIREN_DT_F32, 3, {2, 3, 2}, cube},
        {"vec", SIREN_DT_F64, 1, {3}, d},
    };
    const char *k[] = {"note", "unicode"};
    const char *v[] = {"plain tensors", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac"};
    ok(siren_st_write(path, t, 4, k, v, 2) == SIREN_OK, path);
}

/* ------------------------------------------------------------------ PNG */

static uint32_t crc_table[256];

static uint32_t crc(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t v = i;
            for (int k = 0; k < 8; k++) v = v & 1 ? 0xEDB88320u ^ (v >> 1) : v >> 1;
            crc_table[i] = v;
        }
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

typedef struct {
    uint8_t *p;
    size_t n;
} buf;

static void add(buf *b, const void *d, size_t n) {
    b->p = realloc(b->p, b->n + n);
    if (!b->p) exit(1);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void add32(buf *b, uint32_t v) {
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    add(b, q, 4);
}

static void chunk(buf *b, const char *type, const uint8_t *d, size_t n) {
    buf c = {0};
    add32(b, (uint32_t)n);
    add(&c, type, 4);
    if (n) add(&c, d, n);
    add(b, c.p, c.n);
    add32(b, crc(c.p, c.n));
    free(c.p);
}

/* zlib stream of stored (uncompressed) blocks: no compressor needed. */
static void zstored(buf *z, const uint8_t *d, size_t n) {
    uint32_t a = 1, s = 0;
    add(z, "\x78\x01", 2);
    do {
        size_t k = n > 65535 ? 65535 : n;
        uint8_t h[5] = {n == k, (uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k, (uint8_t)(~k >> 8)};
        add(z, h, 5);
        if (k) add(z, d, k);
        for (size_t i = 0; i < k; i++) {
            a = (a + d[i]) % 65521;
            s = (s + a) % 65521;
        }
        d += k;
        n -= k;
    } while (n);
    add32(z, s << 16 | a);
}

/* A w x h PNG of colour type ct and bit depth bd with pattern samples;
 * interlaced (Adam7) when il. Filter type cycles over the rows. */
static void png(const char *path, int w, int h, int ct, int bd, int il) {
    int ch = ct == 0 ? 1 : ct == 2 ? 3 : ct == 3 ? 1 : ct == 4 ? 2 : 4;
    buf raw = {0}, z = {0}, f = {0};
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    int passes = il ? 7 : 1, row = 0;
    for (int p = 0; p < passes; p++) {
        int pw = il ? (w - x0[p] + dx[p] - 1) / dx[p] : w;
        int ph = il ? (h - y0[p] + dy[p] - 1) / dy[p] : h;
        if (pw <= 0 || ph <= 0) continue;
        size_t bits = (size_t)pw * ch * bd, bytes = (bits + 7) / 8;
        for (int y = 0; y < ph; y++, row++) {
            uint8_t ft = (uint8_t)(row % 2 ? 0 : 1); /* None / Sub, both trivial */
            uint8_t *line = calloc(bytes, 1);
            for (size_t i = 0; i < bytes; i++) line[i] = (uint8_t)(37 * i + 11 * y + 5 * p);
            if (ct == 3) /* palette indices must stay below the palette size */
                for (size_t i = 0; i < bytes; i++) line[i] &= bd == 8 ? 3 : (uint8_t)(bd == 1 ? 0xFF : bd == 2 ? 0xFF : 0x33);
            add(&raw, &ft, 1);
            add(&raw, line, bytes);
            free(line);
        }
    }
    add(&f, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {0, 0, 0, (uint8_t)w, 0, 0, 0, (uint8_t)h, (uint8_t)bd, (uint8_t)ct, 0, 0, (uint8_t)il};
    chunk(&f, "IHDR", ihdr, 13);
    if (ct == 3) {
        uint8_t plte[16 * 3];
        for (int i = 0; i < 48; i++) plte[i] = (uint8_t)(i * 5);
        chunk(&f, "PLTE", plte, 48);
        chunk(&f, "tRNS", (const uint8_t *)"\xff\x80\x00", 3);
    }
    chunk(&f, "tEXt", (const uint8_t *)"Comment\0seed", 12);
    zstored(&z, raw.p, raw.n);
    /* two IDAT chunks: the stream may be split anywhere */
    chunk(&f, "IDAT", z.p, z.n / 2);
    chunk(&f, "IDAT", z.p + z.n / 2, z.n - z.n / 2);
    chunk(&f, "IEND", NULL, 0);
    put(path, f.p, f.n);
    free(raw.p);
    free(z.p);
    free(f.p);
}

/* ------------------------------------------------------------ PGM/PPM */

static void pnm(const char *path, char kind, int w, int h, int maxval) {
    int ch = kind == '3' || kind == '6' ? 3 : 1, bin = kind >= '5';
    buf b = {0};
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "P%c\n# seed\n%d %d\n%d\n", kind, w, h, maxval);
    add(&b, hdr, (size_t)n);
    for (int i = 0; i < w * h * ch; i++) {
        int v = (i * 37) % (maxval + 1);
        if (!bin) {
            n = snprintf(hdr, sizeof hdr, "%d%c", v, (i + 1) % (w * ch) ? ' ' : '\n');
            add(&b, hdr, (size_t)n);
        } else if (maxval > 255) {
            uint8_t q[2] = {(uint8_t)(v >> 8), (uint8_t)v};
            add(&b, q, 2);
        } else {
            uint8_t q = (uint8_t)v;
            add(&b, &q, 1);
        }
    }
    put(path, b.p, b.n);
    free(b.p);
}

/* ------------------------------------------------------------ numbers */

static const char *const numbers[] = {
    "12", "0", "-5", "1e-3", "1.5", "0x10", "256x256", "64X48", "1x1",
    "1048576x256", "+7", " 3", "9223372036854775807", "9223372036854775808",
    "1e400", "1e-400", "nan", "inf", "-0", "1e-12", "30", "0.0001", "8192",
    "16384x16384", "2x", "x2", "10x10x10",
};

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : "fuzz/seeds";
    char p[512];
    static const char *sub[] = {"safetensors", "image", "cli_parse"};
    mkdir(root, 0777);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, sub[i]);
        mkdir(p, 0777);
    }
#define PATH(...) (snprintf(p, sizeof p, __VA_ARGS__), p)
    model(PATH("%s/safetensors/model_2_1_h4_l1.safetensors", root), 2, 1, 4, 1, SIREN_ACT_SINE, "image");
    model(PATH("%s/safetensors/model_3_3_h3_l0_relu.safetensors", root), 3, 3, 3, 0, SIREN_ACT_RELU, NULL);
    model(PATH("%s/safetensors/model_1_2_h2_l2_tanh.safetensors", root), 1, 2, 2, 2, SIREN_ACT_TANH, "audio");
    model_f64(PATH("%s/safetensors/model_f64.safetensors", root));
    plain_st(PATH("%s/safetensors/plain.safetensors", root));

    static const int cts[][3] = {{0, 8, 0}, {0, 1, 0}, {0, 4, 0}, {0, 16, 0},
                                 {2, 8, 0}, {2, 16, 1}, {3, 8, 0}, {3, 2, 1},
                                 {4, 8, 0}, {6, 8, 1}, {6, 16, 0}};
    for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++)
        png(PATH("%s/image/ct%d_%dbit%s.png", root, cts[i][0], cts[i][1],
                 cts[i][2] ? "_adam7" : ""), 9, 7, cts[i][0], cts[i][1], cts[i][2]);
    uint8_t px[8 * 6 * 4];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 13);
    ok(stbi_write_jpg(PATH("%s/image/gray.jpg", root), 8, 6, 1, px, 90), "jpg");
    ok(stbi_write_jpg(PATH("%s/image/rgb.jpg", root), 8, 6, 3, px, 50), "jpg");
    ok(stbi_write_bmp(PATH("%s/image/rgb.bmp", root), 5, 3, 3, px), "bmp");
    ok(stbi_write_bmp(PATH("%s/image/rgba.bmp", root), 5, 3, 4, px), "bmp");
    pnm(PATH("%s/image/p2.pgm", root), '2', 5, 3, 255);
    pnm(PATH("%s/image/p3.ppm", root), '3', 4, 2, 1000);
    pnm(PATH("%s/image/p5.pgm", root), '5', 6, 4, 255);
    pnm(PATH("%s/image/p5_16bit.pgm", root), '5', 3, 3, 65535);
    pnm(PATH("%s/image/p6.ppm", root), '6', 4, 3, 200);
    pnm(PATH("%s/image/p6_16bit.ppm", root), '6', 2, 2, 4095);

    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        put(PATH("%s/cli_parse/n%02zu", root, i), numbers[i], strlen(numbers[i]));
    return 0;
}
