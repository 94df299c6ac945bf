/* libFuzzer target: siren_image_load (src/io/image.c) — our container
 * checks for PNG, JPEG and BMP in front of stb_image, and our own PGM/PPM
 * decoder. An image it accepts has a sane size and channel count and every
 * value in [0, 1]; anything else must come back as a status. The reader
 * takes a path, so the input goes through a scratch file. */
#include <stdint.h>

#include "fuzz.h"
#include "siren.h"

/* A legal image of up to SIREN_MAX_IMAGE_PIXELS takes gigabytes to decode,
 * more than the fuzzer's -rss_limit_mb and slower than its -timeout, so an
 * input whose header declares more pixels than this is skipped. The size
 * checks themselves are tested in tests/test_image.c, and
 * tests/test_fuzz_regressions.c replays its inputs with no cap. */
#ifndef FUZZ_MAX_PIXELS /* the regression replay sets no cap */
#define FUZZ_MAX_PIXELS ((size_t)1 << 22)
#endif

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The pixel count a PNG, JPEG or BMP header declares (0 when unknown):
 * read here by hand, since stb's own stbi_info trusts what the reader's
 * checks exist to refuse (it is how the first JPEG crash showed up again). */
static uint64_t declared_pixels(const uint8_t *p, size_t n) {
    if (n >= 24 && memcmp(p, "\x89PNG", 4) == 0) return be(p + 16, 4) * be(p + 20, 4);
    if (n >= 26 && p[0] == 'B' && p[1] == 'M') {
        if (le(p + 14, 4) == 12) return le(p + 18, 2) * le(p + 20, 2);
        int64_t w = (int32_t)le(p + 18, 4), h = (int32_t)le(p + 22, 4);
        return w < 0 ? 0 : (uint64_t)w * (uint64_t)(h < 0 ? -h : h);
    }
    if (n >= 4 && p[0] == 0xFF && p[1] == 0xD8) {
        size_t pos = 2;
        while (pos + 9 <= n && p[pos] == 0xFF) {
            unsigned m = p[pos + 1];
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
                return be(p + pos + 5, 2) * be(p + pos + 7, 2);
            if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
                pos += 2;
                continue;
            }
            if (m == 0xFF) {
                pos++;
                continue;
            }
            pos += 2 + be(p + pos + 2, 2);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    siren_image img;
    int dropped = -1;
    if (declared_pixels(data, size) > FUZZ_MAX_PIXELS) return 0;
    const char *path = fuzz_file("input.img", data, size);
    if (siren_image_load(path, &img, &dropped) != SIREN_OK) {
        FUZZ_CHECK(img.data == NULL && siren_last_error()[0]);
        return 0;
    }
    FUZZ_CHECK(img.width > 0 && img.height > 0);
    FUZZ_CHECK((size_t)img.width * (size_t)img.height <= SIREN_MAX_IMAGE_PIXELS);
    FUZZ_CHECK(img.channels == 1 || img.channels == 3);
    FUZZ_CHECK(dropped == 0 || dropped == 1);
    size_t n = (size_t)img.width * (size_t)img.height * (size_t)img.channels;
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(img.data[i] >= 0.0f && img.data[i] <= 1.0f);
    siren_image_free(&img);
    return 0;
}
