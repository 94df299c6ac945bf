/* Image and .npy I/O: round trips, resampling against independently computed
 * values, and every reader fed broken files (missing, empty, text, every
 * prefix of a PNG, corrupted CRC, huge dimensions, short PGM data). Files go
 * to a fresh directory under /tmp that is removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "siren.h"
#include "testhelp.h"

static char dir[64];

static const char *tmpfile_path(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static uint8_t *get_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    long len;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static int msg_has(const char *s) { return strstr(siren_last_error(), s) != NULL; }

/* Load must fail with `want` and name the file in its message. */
static void expect_load_fail(const char *path, siren_status want, const char *what,
                             const char *needle) {
    siren_image img = {0};
    siren_status st = siren_image_load(path, &img, NULL);
    CHECK(st == want && msg_has(path) && (!needle || msg_has(needle)) && !img.data,
          "load %s: %s (status %s, message \"%s\")", what, siren_status_str(want),
          siren_status_str(st), siren_last_error());
    siren_image_free(&img);
}

/* Bitwise CRC-32, independent of the library's table version. */
static uint32_t crc32_bits(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static size_t put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static size_t png_chunk(uint8_t *p, const char *type, const uint8_t *data,
                        uint32_t len) {
    size_t k = put_be32(p, len);
    memcpy(p + k, type, 4);
    if (len) memcpy(p + k + 4, data, len);
    k += 4 + len;
    k += put_be32(p + k, crc32_bits(p + 4, len + 4));
    return k;
}

/* A PNG by hand: IHDR, one IDAT with a stored (uncompressed) deflate block,
 * IEND. raw holds the filtered scanlines (filter byte 0 + row bytes). */
static size_t make_png(uint8_t *out, uint32_t w, uint32_t h, int depth,
                       int color, const uint8_t *raw, uint16_t rawlen) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t ihdr[13], z[70000];
    size_t k = 0, zn = 0;
    uint32_t a = 1, b = 0;
    memcpy(out, sig, 8);
    k = 8;
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = (uint8_t)depth;
    ihdr[9] = (uint8_t)color;
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    k += png_chunk(out + k, "IHDR", ihdr, 13);
    if (raw) {
        z[zn++] = 0x78;
        z[zn++] = 0x01;
        z[zn++] = 0x01; /* final stored block */
        z[zn++] = (uint8_t)rawlen;
        z[zn++] = (uint8_t)(rawlen >> 8);
        z[zn++] = (uint8_t)~rawlen;
        z[zn++] = (uint8_t)(~rawlen >> 8);
        memcpy(z + zn, raw, rawlen);
        zn += rawlen;
        for (size_t i = 0; i < rawlen; i++) {
            a = (a + raw[i]) % 65521;
            b = (b + a) % 65521;
        }
        zn += put_be32(z + zn, b << 16 | a);
        k += png_chunk(out + k, "IDAT", z, (uint32_t)zn);
    }
    k += png_chunk(out + k, "IEND", NULL, 0);
    return k;
}

static void test_png_roundtrip(void) {
    for (int ch = 1; ch <= 3; ch += 2) {
        siren_image img = {7, 5, ch, NULL}, back = {0};
        size_t n = 7 * 5 * (size_t)ch;
        int exact = 1, dropped = -1;
        img.data = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) img.data[i] = (float)((i * 37 + 11) % 256) / 255.0f;
        CHECK(siren_image_write_png(tmpfile_path("rt.png"), &img) == SIREN_OK,
              "write %d-channel PNG", ch);
        CHECK(siren_image_load(tmpfile_path("rt.png"), &back, &dropped) == SIREN_OK,
              "read back %d-channel PNG", ch);
        CHECK(back.width == 7 && back.height == 5 && back.channels == ch &&
                  dropped == 0,
              "%d-channel PNG keeps its size and channels (%dx%dx%d)", ch,
              back.width, back.height, back.channels);
        for (size_t i = 0; back.data && i < n; i++)
            if (back.data[i] != img.data[i]) exact = 0;
        CHECK(back.data && exact, "%d-channel PNG: values k/255 come back exactly", ch);
        siren_image_free(&img);
        siren_image_free(&back);
    }

    /* clamping and rounding: round(clamp(v, 0, 1) * 255) */
    {
        float v[6] = {-0.5f, 1.5f, NAN, 0.5f, 0.498f, 1.0f / 255 * 0.49f};
        float want[6] = {0, 1, 0, 128 / 255.0f, 127 / 255.0f, 0};
        siren_image img = {6, 1, 1, v}, back = {0};
        int ok = 1;
        CHECK(siren_image_write_png(tmpfile_path("clamp.png"), &img) == SIREN_OK &&
                  siren_image_load(tmpfile_path("clamp.png"), &back, NULL) == SIREN_OK,
              "write and read a PNG with out-of-range values");
        for (int i = 0; back.data && i < 6; i++)
            if (back.data[i] != want[i]) ok = 0;
        CHECK(back.data && ok, "PNG write clamps to [0,1] and rounds to nearest");
        siren_image_free(&back);
    }
}

static void test_camera(void) {
    siren_image img = {0}, half = {0};
    int ok = 1, dropped = -1;
    float lo = 1, hi = 0;
    siren_status st = siren_image_load("data/camera.png", &img, &dropped);
    CHECK(st == SIREN_OK && img.width == 512 && img.height == 512 &&
              img.channels == 1 && dropped == 0,
          "data/camera.png is 512x512 gray (%s)", siren_last_error());
    if (st != SIREN_OK) return;
    for (size_t i = 0; i < 512 * 512; i++) {
        if (img.data[i] < lo) lo = img.data[i];
        if (img.data[i] > hi) hi = img.data[i];
    }
    CHECK(lo >= 0 && hi <= 1 && hi - lo > 0.5f, "camera values in [0,1] (%g..%g)",
          lo, hi);

    st = siren_image_resize(&img, 256, 256, &half);
    CHECK(st == SIREN_OK && half.width == 256 && half.height == 256 &&
              half.channels == 1, "resize camera 512 -> 256");
    if (st != SIREN_OK) goto done;
    for (int r = 0; r < 256; r++)
        for (int c = 0; c < 256; c++) {
            const float *p = img.data + (size_t)(2 * r) * 512 + 2 * c;
            double m = ((double)p[0] + p[1] + p[512] + p[513]) / 4;
            if (fabs(half.data[r * 256 + c] - m) > 1e-6) ok = 0;
        }
    CHECK(ok, "2x shrink = mean of each 2x2 block");
done:
    siren_image_free(&img);
    siren_image_free(&half);
}

static void test_resize(void) {
    /* colour 2x shrink with odd-looking values */
    {
        siren_image img = {8, 6, 3, NULL}, out = {0};
        int ok = 1;
        img.data = malloc(8 * 6 * 3 * sizeof(float));
        for (int i = 0; i < 8 * 6 * 3; i++) img.data[i] = (float)((i * 7919) % 101) / 100.0f;
        ok = siren_image_resize(&img, 4, 3, &out) == SIREN_OK && out.channels == 3;
        for (int r = 0; ok && r < 3; r++)
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 3; k++) {
                    double m = 0;
                    for (int dr = 0; dr < 2; dr++)
                        for (int dc = 0; dc < 2; dc++)
                            m += img.data[((2 * r + dr) * 8 + 2 * c + dc) * 3 + k];
                    if (fabs(out.data[(r * 4 + c) * 3 + k] - m / 4) > 1e-6) ok = 0;
                }
        CHECK(ok, "RGB 8x6 -> 4x3 = 2x2 block means per channel");
        siren_image_free(&img);
        siren_image_free(&out);
    }
    /* constant images stay constant for odd ratios, shrinking and growing */
    {
        static const int sizes[][2] = {{3, 4}, {11, 13}, {3, 13}, {11, 2}, {1, 1}};
        siren_image img = {7, 5, 3, NULL};
        img.data = malloc(7 * 5 * 3 * sizeof(float));
        for (int i = 0; i < 7 * 5 * 3; i++) img.data[i] = (i % 3 == 0) ? 0.3f : (i % 3 == 1) ? 0.77f : 0.1f;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            siren_image out = {0};
            int w = sizes[s][0], h = sizes[s][1], ok;
            ok = siren_image_resize(&img, w, h, &out) == SIREN_OK && out.width == w &&
                 out.height == h;
            for (int i = 0; ok && i < w * h * 3; i++)
                if (fabsf(out.data[i] - img.data[i % 3]) > 1e-7f) ok = 0;
            CHECK(ok, "constant 7x5 RGB -> %dx%d stays constant", w, h);
            siren_image_free(&out);
        }
        siren_image_free(&img);
    }
    /* exact box weights for a 3 -> 2 shrink; bilinear for 2 -> 4 */
    {
        float v[3] = {0.0f, 0.3f, 0.9f}, u[2] = {0.2f, 0.6f};
        siren_image a = {3, 1, 1, v}, b = {2, 1, 1, u}, out = {0};
        CHECK(siren_image_resize(&a, 2, 1, &out) == SIREN_OK &&
                  fabsf(out.data[0] - 0.1f) < 1e-7f && fabsf(out.data[1] - 0.7f) < 1e-7f,
              "3 -> 2 shrink weighs pixels by overlap (1/3, 2/3)");
        siren_image_free(&out);
        CHECK(siren_image_resize(&b, 4, 1, &out) == SIREN_OK &&
                  fabsf(out.data[0] - 0.2f) < 1e-7f && fabsf(out.data[1] - 0.3f) < 1e-7f &&
                  fabsf(out.data[2] - 0.5f) < 1e-7f && fabsf(out.data[3] - 0.6f) < 1e-7f,
              "2 -> 4 enlarge is bilinear between pixel centres");
        siren_image_free(&out);
        /* one axis shrinks while the other grows: 2 rows of 4 -> 4 rows of 2 */
        float m[8] = {0, 0.2f, 0.4f, 0.6f, 1, 1, 1, 1};
        siren_image c = {4, 2, 1, m};
        int ok = siren_image_resize(&c, 2, 4, &out) == SIREN_OK;
        float want[8] = {0.1f, 0.5f, 0.325f, 0.625f, 0.775f, 0.875f, 1, 1};
        for (int i = 0; ok && i < 8; i++)
            if (fabsf(out.data[i] - want[i]) > 1e-6f) ok = 0;
        CHECK(ok, "4x2 -> 2x4: columns area-averaged, rows bilinear");
        siren_image_free(&out);
    }
    /* bad sizes */
    {
        float v[4] = {0};
        siren_image a = {2, 2, 1, v}, out = {0};
        CHECK(siren_image_resize(&a, 0, 2, &out) == SIREN_EINVAL && !out.data,
              "resize to 0x2 is SIREN_EINVAL");
        CHECK(siren_image_resize(&a, 2, -3, &out) == SIREN_EINVAL,
              "resize to 2x-3 is SIREN_EINVAL");
        CHECK(siren_image_resize(&a, 70000, 70000, &out) == SIREN_EINVAL &&
                  msg_has("SIREN_MAX_IMAGE_PIXELS"),
              "resize to 70000x70000 is SIREN_EINVAL (%s)", siren_last_error());
    }
}

static void test_broken(void) {
    static uint8_t png[4096], huge[256];
    const char *p;
    size_t n, bad_prefix = 0;
    int all_fail = 1;

    expect_load_fail(tmpfile_path("missing.png"), SIREN_EIO, "missing file",
                     "no such file");
    p = tmpfile_path("empty.png");
    put_file(p, "", 0);
    expect_load_fail(p, SIREN_EFORMAT, "empty file", NULL);
    p = tmpfile_path("text.png");
    put_file(p, "hello, this is not an image\n", 28);
    expect_load_fail(p, SIREN_EFORMAT, "text file",
                     "not a PNG, JPEG, BMP, PGM or PPM image");
    expect_load_fail(dir, SIREN_EIO, "a directory", NULL);

    /* every proper prefix of a valid PNG fails */
    {
        siren_image img = {5, 4, 3, NULL}, back = {0};
        uint8_t *full;
        img.data = malloc(5 * 4 * 3 * sizeof(float));
        for (int i = 0; i < 60; i++) img.data[i] = (float)(i % 17) / 16.0f;
        siren_image_write_png(tmpfile_path("small.png"), &img);
        siren_image_free(&img);
        full = get_file(tmpfile_path("small.png"), &n);
        CHECK(full && n > 50 && siren_image_load(tmpfile_path("small.png"), &back, NULL) == SIREN_OK,
              "small PNG (%zu bytes) loads", n);
        siren_image_free(&back);
        p = tmpfile_path("prefix.png");
        for (size_t len = 0; full && len < n; len++) {
            siren_status st;
            put_file(p, full, len);
            st = siren_image_load(p, &back, NULL);
            if (st != SIREN_EFORMAT || !msg_has(p) || back.data) {
                if (all_fail) bad_prefix = len;
                all_fail = 0;
            }
            siren_image_free(&back);
        }
        CHECK(full && all_fail, "every prefix of a %zu-byte PNG is SIREN_EFORMAT%s",
              n, all_fail ? "" : " (see the first bad length below)");
        if (!all_fail) printf("# first bad prefix length: %zu\n", bad_prefix);
        /* one flipped bit in the pixel data is caught by the CRC */
        if (full) {
            full[n - 20] ^= 0x10;
            put_file(p, full, n);
            expect_load_fail(p, SIREN_EFORMAT, "PNG with a flipped bit", "CRC");
        }
        free(full);
    }

    /* a PNG header claiming 70000x70000 pixels */
    n = make_png(huge, 70000, 70000, 8, 0, NULL, 0);
    p = tmpfile_path("huge.png");
    put_file(p, huge, n);
    expect_load_fail(p, SIREN_ELIMIT, "PNG claiming 70000x70000",
                     "70000x70000 pixels exceeds the limit of 268435456 pixels");
    n = make_png(huge, 0, 10, 8, 0, NULL, 0);
    p = tmpfile_path("zero.png");
    put_file(p, huge, n);
    expect_load_fail(p, SIREN_EFORMAT, "PNG claiming 0x10", "0 pixels");

    /* a handmade PNG with a pixel stream that does not inflate */
    {
        uint8_t raw[8] = {0, 1, 2, 3, 0, 4, 5, 6};
        n = make_png(png, 3, 2, 8, 0, raw, 8);
        p = tmpfile_path("hand.png");
        put_file(p, png, n);
        siren_image img = {0};
        CHECK(siren_image_load(p, &img, NULL) == SIREN_OK && img.width == 3 &&
                  img.data[5] == 6 / 255.0f,
              "handmade 8-bit PNG loads (%s)", siren_last_error());
        siren_image_free(&img);
        n = make_png(png, 3, 3, 8, 0, raw, 8); /* one row missing */
        put_file(p, png, n);
        expect_load_fail(p, SIREN_EFORMAT, "PNG with too little pixel data",
                         "corrupt or truncated image (stb: ");
    }
}

static void test_formats(void) {
    const char *p;
    siren_image img = {0};
    int dropped = -1, ok;

    /* 16-bit gray PNG keeps full precision */
    {
        static uint8_t png[256];
        uint16_t v[6] = {0, 1, 65535, 12345, 40000, 256};
        uint8_t raw[2 * (1 + 6)];
        size_t k = 0, n;
        for (int r = 0; r < 2; r++) {
            raw[k++] = 0;
            for (int c = 0; c < 3; c++) {
                raw[k++] = (uint8_t)(v[r * 3 + c] >> 8);
                raw[k++] = (uint8_t)v[r * 3 + c];
            }
        }
        n = make_png(png, 3, 2, 16, 0, raw, (uint16_t)k);
        p = tmpfile_path("g16.png");
        put_file(p, png, n);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.channels == 1 &&
             img.width == 3 && img.height == 2;
        for (int i = 0; ok && i < 6; i++)
            if (img.data[i] != (float)v[i] / 65535.0f) ok = 0;
        CHECK(ok, "16-bit PNG: values v/65535 exactly (%s)", siren_last_error());
        siren_image_free(&img);
    }

    /* alpha is dropped: RGBA -> RGB, gray+alpha -> gray */
    {
        uint8_t rgba[2 * 2 * 4], ga[2 * 2 * 2];
        for (int i = 0; i < 16; i++) rgba[i] = (uint8_t)(i * 16 + 3);
        for (int i = 0; i < 8; i++) ga[i] = (uint8_t)(i * 30);
        p = tmpfile_path("rgba.png");
        stbi_write_png(p, 2, 2, 4, rgba, 8);
        ok = siren_image_load(p, &img, &dropped) == SIREN_OK && img.channels == 3 &&
             dropped == 1;
        for (int i = 0; ok && i < 4; i++)
            for (int c = 0; c < 3; c++)
                if (img.data[i * 3 + c] != rgba[i * 4 + c] / 255.0f) ok = 0;
        CHECK(ok, "RGBA PNG: 3 channels, alpha dropped and reported");
        siren_image_free(&img);
        p = tmpfile_path("ga.png");
        stbi_write_png(p, 2, 2, 2, ga, 4);
        dropped = 0;
        ok = siren_image_load(p, &img, &dropped) == SIREN_OK && img.channels == 1 &&
             dropped == 1;
        for (int i = 0; ok && i < 4; i++)
            if (img.data[i] != ga[i * 2] / 255.0f) ok = 0;
        CHECK(ok, "gray+alpha PNG: 1 channel, alpha dropped and reported");
        siren_image_free(&img);
    }

    /* BMP through stb, and a truncated one */
    {
        uint8_t rgb[3 * 2 * 3];
        size_t n;
        uint8_t *bmp;
        for (int i = 0; i < 18; i++) rgb[i] = (uint8_t)(i * 13);
        p = tmpfile_path("x.bmp");
        stbi_write_bmp(p, 3, 2, 3, rgb);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.channels == 3;
        for (int i = 0; ok && i < 18; i++)
            if (img.data[i] != rgb[i] / 255.0f) ok = 0;
        CHECK(ok, "BMP reads back exactly");
        siren_image_free(&img);
        bmp = get_file(p, &n);
        put_file(p, bmp, n - 3);
        expect_load_fail(p, SIREN_EFORMAT, "truncated BMP", "corrupt or truncated");
        free(bmp);
    }

    /* JPEG through stb: loads close to what was written; every proper
     * prefix (no EOI marker) fails */
    {
        uint8_t rgb[16 * 8 * 3];
        size_t n, len, bad = 0;
        uint8_t *jpg;
        int all_fail = 1;
        for (int i = 0; i < 16 * 8 * 3; i++) rgb[i] = (uint8_t)(100 + (i % 3) * 40);
        p = tmpfile_path("x.jpg");
        stbi_write_jpg(p, 16, 8, 3, rgb, 95);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.channels == 3 &&
             img.width == 16 && img.height == 8;
        for (int i = 0; ok && i < 16 * 8 * 3; i++)
            if (fabsf(img.data[i] - rgb[i] / 255.0f) > 4 / 255.0f) ok = 0;
        CHECK(ok, "JPEG reads back within 4/255 (%s)", siren_last_error());
        siren_image_free(&img);
        jpg = get_file(p, &n);
        p = tmpfile_path("prefix.jpg");
        for (len = 0; jpg && len < n; len++) {
            put_file(p, jpg, len);
            if (siren_image_load(p, &img, NULL) != SIREN_EFORMAT || !msg_has(p)) {
                if (all_fail) bad = len;
                all_fail = 0;
            }
            siren_image_free(&img);
        }
        CHECK(jpg && all_fail, "every prefix of a %zu-byte JPEG is SIREN_EFORMAT", n);
        if (!all_fail) printf("# first bad prefix length: %zu\n", bad);
        free(jpg);
    }

    /* PGM / PPM written by hand */
    {
        static const uint8_t p5[] = "P5\n# a comment\n3 2\n255\n\x00\x10\x20\x80\xfe\xff";
        p = tmpfile_path("a.pgm");
        put_file(p, p5, sizeof p5 - 1);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.channels == 1 &&
             img.width == 3 && img.height == 2;
        for (int i = 0; ok && i < 6; i++)
            if (img.data[i] != p5[sizeof p5 - 7 + i] / 255.0f) ok = 0;
        CHECK(ok, "PGM P5 8-bit reads back exactly");
        siren_image_free(&img);

        static const uint8_t p6[] = "P6 2 1 255 \x01\x02\x03\xfd\xfe\xff";
        p = tmpfile_path("a.ppm");
        put_file(p, p6, sizeof p6 - 1);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.channels == 3 &&
             img.width == 2 && img.height == 1;
        for (int i = 0; ok && i < 6; i++)
            if (img.data[i] != p6[sizeof p6 - 7 + i] / 255.0f) ok = 0;
        CHECK(ok, "PPM P6 8-bit reads back exactly");
        siren_image_free(&img);

        static const uint8_t p5w[] = "P5\n2 1\n65535\n\x01\x02\xff\xfe";
        p = tmpfile_path("w.pgm");
        put_file(p, p5w, sizeof p5w - 1);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.width == 2 &&
             img.data[0] == 258 / 65535.0f && img.data[1] == 65534 / 65535.0f;
        CHECK(ok, "PGM P5 16-bit big-endian keeps full precision");
        siren_image_free(&img);

        static const uint8_t p5m[] = "P5 2 1 1000\n\x03\xe8\x01\xf4";
        p = tmpfile_path("m.pgm");
        put_file(p, p5m, sizeof p5m - 1);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.data[0] == 1.0f &&
             img.data[1] == 0.5f;
        CHECK(ok, "PGM with maxval 1000 is scaled by maxval");
        siren_image_free(&img);

        static const char p2[] = "P2\n2 2 # size\n10\n0 5\n10 2\n";
        p = tmpfile_path("plain.pgm");
        put_file(p, p2, sizeof p2 - 1);
        ok = siren_image_load(p, &img, NULL) == SIREN_OK && img.data[1] == 0.5f &&
             img.data[2] == 1.0f;
        CHECK(ok, "plain-text PGM (P2) reads back");
        siren_image_free(&img);

        p = tmpfile_path("short.pgm");
        put_file(p, p5, sizeof p5 - 2);
        expect_load_fail(p, SIREN_EFORMAT, "PGM missing its last byte",
                         "corrupt or truncated");
        put_file(p, "P5 2 1 100\n\x10\x70", 13);
        expect_load_fail(p, SIREN_EFORMAT, "PGM sample above maxval", "maxval");
        put_file(p, "P6\n70000 70000\n255\n", 19);
        expect_load_fail(p, SIREN_ELIMIT, "PPM claiming 70000x70000",
                         "raise it with --max-pixels");
        /* a caller's own limit: a 2x1 image against 1 and 2 pixels */
        put_file(p, "P5 2 1 255\n\x10\x70", 13);
        siren_image small;
        CHECK(siren_image_load_max(p, 1, &small, NULL) == SIREN_ELIMIT &&
                  msg_has("exceeds the limit of 1 pixels") && !small.data,
              "a 2x1 image against a limit of 1 pixel: SIREN_ELIMIT (%s)",
              siren_last_error());
        CHECK(siren_image_load_max(p, 2, &small, NULL) == SIREN_OK &&
                  small.width == 2,
              "and against a limit of 2 pixels it loads");
        if (small.data) siren_image_free(&small);
    }
}

/* A minimal .npy reader, enough to check what the writer produced. */
static void test_npy(void) {
    float data[24];
    size_t shape[3] = {2, 3, 4}, n, one = 5;
    uint8_t *f;
    const char *p = tmpfile_path("a.npy");
    for (int i = 0; i < 24; i++) data[i] = (float)i * 0.25f - 1.5f;
    CHECK(siren_npy_write(p, data, 3, shape) == SIREN_OK, "write a (2,3,4) .npy");
    f = get_file(p, &n);
    if (f) {
        size_t hlen = f[8] | (size_t)f[9] << 8, start = 10 + hlen;
        const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }";
        CHECK(memcmp(f, "\x93NUMPY\x01\x00", 8) == 0, "npy magic and version 1.0");
        CHECK(start % 64 == 0 && f[start - 1] == '\n', "npy data starts at %zu "
              "(multiple of 64) after a newline", start);
        CHECK(hlen >= strlen(want) && memcmp(f + 10, want, strlen(want)) == 0,
              "npy header dict is %s", want);
        int spaces = 1;
        for (size_t i = 10 + strlen(want); i < start - 1; i++)
            if (f[i] != ' ') spaces = 0;
        CHECK(spaces, "npy header padded with spaces");
        int same = n == start + 24 * 4;
        for (int i = 0; same && i < 24; i++) {
            const uint8_t *q = f + start + 4 * i;
            uint32_t u = q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
            float v;
            memcpy(&v, &u, 4);
            if (v != data[i]) same = 0;
        }
        CHECK(same, "npy data is the 24 floats, little-endian, C order");
        free(f);
    }
    p = tmpfile_path("b.npy");
    CHECK(siren_npy_write(p, data, 1, &one) == SIREN_OK, "write a (5,) .npy");
    f = get_file(p, &n);
    CHECK(f && strstr((char *)f + 10, "'shape': (5,), }") != NULL,
          "1-D shape is written as (5,)");
    free(f);
}

/* No "*.tmp.*" file may remain in dir. */
static int no_temp_files(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int clean = 1;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) clean = 0;
    if (d) closedir(d);
    return clean;
}

static void test_failed_writes(void) {
    float v[4] = {0, 0.5f, 1, 0.25f};
    siren_image img = {2, 2, 1, v};
    size_t shape[1] = {4};
    struct stat sb;
    const char *p = tmpfile_path("nodir/x.png");

    CHECK(siren_image_write_png(p, &img) == SIREN_EIO && msg_has(p),
          "PNG into a missing directory: SIREN_EIO naming the file (%s)",
          siren_last_error());
    CHECK(stat(tmpfile_path("nodir"), &sb) != 0 && errno == ENOENT,
          "failed write creates nothing");
    p = tmpfile_path("nodir/x.npy");
    CHECK(siren_npy_write(p, v, 1, shape) == SIREN_EIO && msg_has(p),
          "npy into a missing directory: SIREN_EIO (%s)", siren_last_error());

    /* the target is a directory: the rename fails after the data is
     * written, and the temporary file must be gone */
    p = tmpfile_path("adir");
    mkdir(p, 0755);
    CHECK(siren_image_write_png(p, &img) == SIREN_EIO && msg_has(p),
          "PNG onto a directory: SIREN_EIO (%s)", siren_last_error());
    CHECK(siren_npy_write(p, v, 1, shape) == SIREN_EIO, "npy onto a directory: SIREN_EIO");
    CHECK(no_temp_files(), "no temporary file left behind");
    rmdir(p);

    /* replacing an existing file; mode as fopen would give */
    p = tmpfile_path("over.png");
    put_file(p, "old contents", 12);
    siren_image back = {0};
    CHECK(siren_image_write_png(p, &img) == SIREN_OK &&
              siren_image_load(p, &back, NULL) == SIREN_OK && back.data[1] == 128 / 255.0f,
          "PNG write replaces an existing file");
    siren_image_free(&back);
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644,
          "written file has mode 0644 under umask 022 (got %o)",
          (unsigned)(sb.st_mode & 0777));
}

static void test_metrics(void) {
    float a[16 * 16], b[16 * 16];
    siren_image A = {16, 16, 1, a}, B = {16, 16, 1, b}, S = {8, 8, 1, a};
    double s = 0;
    for (int i = 0; i < 256; i++) {
        a[i] = (float)(i % 16) / 16.0f;
        b[i] = a[i] + 0.1f;
    }
    CHECK(isinf(siren_psnr(a, a, 256, 1.0)), "PSNR of equal inputs is infinite");
    double psnr = siren_psnr(a, b, 256, 1.0);
    CHECK(fabs(psnr - 20.0) < 1e-5, "PSNR with error 0.1 on range 1 is 20 dB (%.9f)", psnr);
    CHECK(siren_ssim(&A, &A, 1.0, &s) == SIREN_OK && fabs(s - 1) < 1e-12,
          "SSIM of an image with itself is 1 (%.15f)", s);
    CHECK(siren_ssim(&A, &B, 1.0, &s) == SIREN_OK && s < 1 && s > 0.5,
          "SSIM of a shifted image is below 1 (%.6f)", s);
    CHECK(siren_ssim(&A, &S, 1.0, &s) == SIREN_EINVAL, "SSIM of different sizes is SIREN_EINVAL");
    CHECK(siren_ssim(&S, &S, 1.0, &s) == SIREN_EINVAL, "SSIM of an 8x8 image is SIREN_EINVAL");
}

static void remove_dir(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    char buf[512];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
        if (unlink(buf) != 0) remove_dir(buf);
    }
    if (d) closedir(d);
    rmdir(path);
}

int main(void) {
    umask(022);
    snprintf(dir, sizeof dir, "/tmp/siren_test_image.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_png_roundtrip();
    test_camera();
    test_resize();
    test_broken();
    test_formats();
    test_npy();
    test_failed_writes();
    test_metrics();
    remove_dir(dir);
    TEST_DONE();
}
