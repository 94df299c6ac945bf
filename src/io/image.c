/* Image files: read PNG, JPEG, BMP (through stb_image) and PGM/PPM (here),
 * resample, write 8-bit PNG (stb_image_write, atomically).
 *
 * stb_image trusts its input more than we want: it decodes a PNG that lacks
 * its last bytes, fills a truncated BMP or PGM with zeros (or leaves it
 * uninitialised) and happily guesses TGA for random bytes. So every file is
 * first recognised by its signature and its container walked here (PNG
 * chunks with CRCs, JPEG markers up to EOI, BMP and PNM sizes); only then
 * does stb decode pixels. That walk also gives the dimensions, which are
 * checked against the pixel limit (SIREN_MAX_IMAGE_PIXELS unless the caller
 * raises it) before anything is allocated. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "io/atomic.h"
#include "util/error.h"

#define KINDS "not a PNG, JPEG, BMP, PGM or PPM image"
#define BAD "corrupt or truncated image"

/* ------------------------------------------------------------ reading */

/* The whole file in memory: stb takes an int length, so files over
 * INT_MAX bytes are refused (no image under the pixel limit needs one). */
static siren_status read_file(const char *path, uint8_t **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    uint8_t *p;
    int err;

    *buf = NULL;
    *len = 0;
    if (!f) {
        err = errno;
        if (err == ENOENT) return siren_fail(SIREN_EIO, "%s: no such file", path);
        return siren_fail(SIREN_EIO, "%s: cannot open (%s)", path, strerror(err));
    }
    p = malloc(cap);
    if (!p) {
        fclose(f);
        return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            uint8_t *q;
            if (cap >= (size_t)INT_MAX) {
                free(p);
                fclose(f);
                return siren_fail(SIREN_ELIMIT, "%s: file larger than %d bytes",
                                  path, INT_MAX);
            }
            cap = cap * 2 > (size_t)INT_MAX ? (size_t)INT_MAX : cap * 2;
            q = realloc(p, cap);
            if (!q) {
                free(p);
                fclose(f);
                return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
            }
            p = q;
        }
        got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        err = errno;
        free(p);
        fclose(f);
        return siren_fail(SIREN_EIO, "%s: cannot read (%s)", path,
                          strerror(err ? err : EIO));
    }
    fclose(f);
    *buf = p;
    *len = n;
    return SIREN_OK;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }

/* Zero pixels and the size limit, the same for every format. */
static siren_status check_dims(const char *path, size_t limit, uint64_t w,
                               uint64_t h) {
    if (w == 0 || h == 0)
        return siren_fail(SIREN_EFORMAT, "%s: image has 0 pixels", path);
    if (w > limit || h > limit || w * h > limit)
        return siren_fail(SIREN_ELIMIT,
                          "%s: %llux%llu pixels exceeds the limit of %zu pixels "
                          "(raise it with --max-pixels)",
                          path, (unsigned long long)w, (unsigned long long)h, limit);
    return SIREN_OK;
}

/* CRC-32 of PNG (ISO 3309, reflected, polynomial 0xEDB88320). */
static void crc32_table(uint32_t table[256]) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++) v = v & 1 ? 0xEDB88320u ^ (v >> 1) : v >> 1;
        table[i] = v;
    }
}

static uint32_t crc32_png(const uint32_t table[256], const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* Walk the chunks up to IEND: each one complete, critical ones with a good
 * CRC (as libpng insists); the size comes from IHDR. */
static siren_status png_check(const char *path, size_t limit, const uint8_t *p,
                               size_t n) {
    size_t pos = 8;
    int have_ihdr = 0;
    uint64_t w = 0, h = 0;
    uint32_t table[256];

    crc32_table(table);
    for (;;) {
        uint32_t len;
        const uint8_t *type;
        if (n - pos < 12)
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PNG ends before its "
                              "IEND chunk)", path);
        len = be32(p + pos);
        type = p + pos + 4;
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
                return siren_fail(SIREN_EFORMAT, "%s: " BAD " (invalid PNG chunk "
                                  "at byte %zu)", path, pos);
        if (len > 0x7FFFFFFFu || n - pos - 12 < len)
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PNG %.4s chunk "
                              "cut short)", path, (const char *)type);
        if (!(type[0] & 0x20) && crc32_png(table, type, (size_t)len + 4) != be32(type + 4 + len))
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (CRC error in PNG "
                              "%.4s chunk)", path, (const char *)type);
        if (memcmp(type, "IHDR", 4) == 0) {
            if (len < 13)
                return siren_fail(SIREN_EFORMAT, "%s: " BAD " (short PNG IHDR)",
                                  path);
            w = be32(type + 4);
            h = be32(type + 8);
            have_ihdr = 1;
        }
        if (memcmp(type, "IEND", 4) == 0) break;
        pos += 12 + (size_t)len;
    }
    if (!have_ihdr)
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PNG without IHDR)", path);
    return check_dims(path, limit, w, h);
}

/* A DHT segment's tables (seg[0..len), past its length field): each one
 * a class/id byte, 16 code counts and that many symbols, ending exactly
 * with the segment; each table defined sets bit 4 * class + id of *defined.
 * Debian's stb_image 2.27 trusts the counts: a table of more than 256 codes
 * overruns its 257-entry arrays (found by fuzzing, tests/data/fuzz/image/;
 * later stb_image releases check it themselves). */
static int jpeg_dht_ok(const uint8_t *seg, size_t len, unsigned *defined) {
    size_t pos = 0;
    while (pos < len) {
        size_t codes = 0;
        if (len - pos < 17 || seg[pos] >> 4 > 1 || (seg[pos] & 15) > 3) return 0;
        for (int i = 1; i <= 16; i++) codes += seg[pos + i];
        if (codes > 256 || len - pos - 17 < codes) return 0;
        *defined |= 1u << (4 * (seg[pos] >> 4) + (seg[pos] & 15));
        pos += 17 + codes;
    }
    return 1;
}

/* An SOS header (seg[0..len), past its length field) that only names
 * Huffman tables already defined, as far as stb will use them: both for a
 * sequential scan; for a progressive one, the DC table in a first DC scan
 * and the AC table in an AC scan. stb_image 2.27 decodes with an undefined
 * table's uninitialised memory and reads out of bounds (found by fuzzing,
 * tests/data/fuzz/image/). */
static int jpeg_sos_ok(const uint8_t *seg, size_t len, unsigned defined,
                       int progressive) {
    size_t ns;
    if (len < 1) return 0;
    ns = seg[0];
    if (ns < 1 || ns > 4 || len < 1 + 2 * ns + 3) return 0;
    int ss = seg[1 + 2 * ns], ah = seg[3 + 2 * ns] >> 4;
    int need_dc = !progressive || (ss == 0 && ah == 0);
    int need_ac = !progressive || ss > 0;
    for (size_t i = 0; i < ns; i++) {
        unsigned td = seg[2 + 2 * i] >> 4, ta = seg[2 + 2 * i] & 15;
        if (need_dc && (td > 3 || !(defined >> td & 1))) return 0;
        if (need_ac && (ta > 3 || !(defined >> (4 + ta) & 1))) return 0;
    }
    return 1;
}

/* Walk the markers up to EOI, skipping entropy-coded data (where 0xFF is
 * followed by 0x00 or a restart marker); the size comes from SOFn.
 *
 * stb decodes a JPEG whose scans stop early as if the rest were zeros, so a
 * 700-byte file could make it decode (and us allocate) a gigabyte of
 * pixels (found by fuzzing, tests/data/fuzz/image/). With Huffman coding every 8x8 block of every
 * component costs at least one bit in some scan (its DC code), and every
 * component has at least one block per MCU, so the scans must hold at
 * least one bit per MCU of ceil(W / 8Hmax) x ceil(H / 8Vmax): a bound no
 * real file comes near (it allows 64 to 1024 pixels per bit). */
static siren_status jpeg_check(const char *path, size_t limit, const uint8_t *p,
                               size_t n) {
    size_t pos = 2;
    int have_sof = 0, huffman = 1, progressive = 0;
    unsigned tables = 0; /* Huffman tables defined so far, see jpeg_dht_ok */
    uint64_t w = 0, h = 0, hmax = 1, vmax = 1, scan_bytes = 0;

    for (;;) {
        unsigned m;
        size_t len;
        if (pos >= n) goto truncated;
        if (p[pos] != 0xFF)
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (no JPEG marker at "
                              "byte %zu)", path, pos);
        while (pos < n && p[pos] == 0xFF) pos++;
        if (pos >= n) goto truncated;
        m = p[pos++];
        if (m == 0xD9) break; /* EOI */
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue; /* no length */
        if (n - pos < 2) goto truncated;
        len = be16(p + pos);
        if (len < 2)
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (bad JPEG segment "
                              "length)", path);
        if (n - pos < len) goto truncated;
        if (m == 0xC4 && !jpeg_dht_ok(p + pos + 2, len - 2, &tables))
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (bad JPEG Huffman "
                              "table)", path);
        if (m == 0xDA && huffman &&
            !jpeg_sos_ok(p + pos + 2, len - 2, tables, progressive))
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (JPEG scan with a "
                              "bad header or an undefined Huffman table)", path);
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (len < 8)
                return siren_fail(SIREN_EFORMAT, "%s: " BAD " (short JPEG frame "
                                  "header)", path);
            h = be16(p + pos + 3);
            w = be16(p + pos + 5);
            have_sof = 1;
            huffman = m <= 0xC7; /* SOF9 and up are arithmetic-coded */
            progressive = m == 0xC2 || m == 0xC6;
            hmax = vmax = 1;
            size_t comps_end = pos + 8 + 3 * (size_t)p[pos + 7];
            for (size_t c = pos + 8; c + 3 <= pos + len && c < comps_end; c += 3) {
                uint64_t hs = p[c + 1] >> 4, vs = p[c + 1] & 15;
                if (hs > hmax && hs <= 4) hmax = hs;
                if (vs > vmax && vs <= 4) vmax = vs;
            }
        }
        pos += len;
        if (m == 0xDA) { /* scan data runs to the next real marker */
            size_t start = pos;
            for (;;) {
                if (n - pos < 2) goto truncated;
                if (p[pos] == 0xFF && p[pos + 1] != 0x00 && p[pos + 1] != 0xFF &&
                    !(p[pos + 1] >= 0xD0 && p[pos + 1] <= 0xD7))
                    break;
                pos++;
            }
            scan_bytes += pos - start;
        }
    }
    if (!have_sof)
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (JPEG without a frame "
                          "header)", path);
    siren_status st = check_dims(path, limit, w, h);
    if (st != SIREN_OK) return st;
    if (huffman && scan_bytes * 8 < ((w + 8 * hmax - 1) / (8 * hmax)) *
                                        ((h + 8 * vmax - 1) / (8 * vmax)))
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (JPEG data ends before "
                          "its last block: %llu bytes of scan data for "
                          "%llux%llu pixels)", path, (unsigned long long)scan_bytes,
                          (unsigned long long)w, (unsigned long long)h);
    return SIREN_OK;
truncated:
    return siren_fail(SIREN_EFORMAT, "%s: " BAD " (JPEG ends before its EOI "
                      "marker)", path);
}

/* BMP: for uncompressed pixel data the file must hold every row (stb would
 * read zeros past the end without complaint). */
static siren_status bmp_check(const char *path, size_t limit, const uint8_t *p,
                               size_t n) {
    uint32_t off, hsz, bpp, comp;
    int64_t w, h;
    siren_status st;

    if (n < 26) goto truncated;
    off = le32(p + 10);
    hsz = le32(p + 14);
    if (hsz == 12) {
        w = le16(p + 18);
        h = le16(p + 20);
        bpp = le16(p + 24);
        comp = 0;
    } else {
        if (n < 34) goto truncated;
        w = (int32_t)le32(p + 18);
        h = (int32_t)le32(p + 22);
        bpp = le16(p + 28);
        comp = le32(p + 30);
    }
    if (w < 0)
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (negative BMP width)", path);
    if (h < 0) h = -h; /* top-down rows */
    st = check_dims(path, limit, (uint64_t)w, (uint64_t)h);
    if (st != SIREN_OK) return st;
    if ((comp == 0 || comp == 3 || comp == 6) && bpp >= 1 && bpp <= 32) {
        /* w*h <= 2^28 here, so none of this overflows */
        uint64_t stride = ((uint64_t)w * bpp + 31) / 32 * 4;
        if ((uint64_t)off + stride * (uint64_t)h > n) goto truncated;
    }
    return SIREN_OK;
truncated:
    return siren_fail(SIREN_EFORMAT, "%s: " BAD " (BMP ends before its last "
                      "row)", path);
}

/* ---------------------------------------------------------------- PNM */

/* PGM/PPM are decoded here rather than by stb, which neither scales by the
 * header's maxval nor notices missing pixel data. Binary (P5, P6) and
 * plain-text (P2, P3) forms; samples of maxval > 255 are 16-bit big-endian. */
typedef struct {
    const uint8_t *p;
    size_t n, pos;
} pnm_cursor;

static int pnm_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Next decimal number, skipping whitespace and '#' comments. 0 at end of
 * data or on something else; values are capped so they cannot overflow. */
static int pnm_number(pnm_cursor *c, uint64_t *v) {
    while (c->pos < c->n) {
        if (pnm_space(c->p[c->pos])) {
            c->pos++;
        } else if (c->p[c->pos] == '#') {
            while (c->pos < c->n && c->p[c->pos] != '\n' && c->p[c->pos] != '\r')
                c->pos++;
        } else {
            break;
        }
    }
    if (c->pos >= c->n || c->p[c->pos] < '0' || c->p[c->pos] > '9') return 0;
    *v = 0;
    while (c->pos < c->n && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
        if (*v < ((uint64_t)1 << 40)) *v = *v * 10 + (uint64_t)(c->p[c->pos] - '0');
        c->pos++;
    }
    return 1;
}

static siren_status pnm_load(const char *path, size_t limit, const uint8_t *p, size_t n,
                             siren_image *img) {
    pnm_cursor c = {p, n, 2};
    int kind = p[1], binary = kind == '5' || kind == '6';
    int ch = kind == '3' || kind == '6' ? 3 : 1;
    uint64_t w, h, maxval;
    size_t count, i;
    siren_status st;
    float *out;

    if (!pnm_number(&c, &w) || !pnm_number(&c, &h) || !pnm_number(&c, &maxval))
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (bad PGM/PPM header)", path);
    if (maxval == 0 || maxval > 65535)
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PGM/PPM maxval %llu not "
                          "in 1..65535)", path, (unsigned long long)maxval);
    st = check_dims(path, limit, w, h);
    if (st != SIREN_OK) return st;
    count = (size_t)(w * h) * (size_t)ch;
    if (binary) {
        size_t bytes = count * (maxval > 255 ? 2 : 1);
        /* exactly one whitespace byte separates the header from the data */
        if (c.pos >= n || !pnm_space(p[c.pos]) || n - c.pos - 1 < bytes)
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PGM/PPM pixel data "
                              "cut short)", path);
        c.pos++;
    } else if ((n - c.pos) / 2 < count) {
        /* each plain sample takes a digit and the whitespace before it:
         * without this, 20 bytes of "P3 16384 16384 255" would allocate
         * 3 GB before finding no samples (tests/data/fuzz/image/) */
        return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PGM/PPM pixel data "
                          "cut short)", path);
    }
    out = malloc(count * sizeof *out);
    if (!out)
        return siren_fail(SIREN_ENOMEM, "%s: out of memory for %llux%llu pixels",
                          path, (unsigned long long)w, (unsigned long long)h);
    for (i = 0; i < count; i++) {
        uint64_t v;
        if (!binary) {
            if (!pnm_number(&c, &v)) {
                free(out);
                return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PGM/PPM pixel "
                                  "data cut short)", path);
            }
        } else if (maxval > 255) {
            v = be16(p + c.pos + 2 * i);
        } else {
            v = p[c.pos + i];
        }
        if (v > maxval) {
            free(out);
            return siren_fail(SIREN_EFORMAT, "%s: " BAD " (PGM/PPM sample %llu "
                              "above maxval %llu)", path, (unsigned long long)v,
                              (unsigned long long)maxval);
        }
        out[i] = (float)v / (float)maxval;
    }
    img->width = (int)w;
    img->height = (int)h;
    img->channels = ch;
    img->data = out;
    return SIREN_OK;
}

/* ------------------------------------------------------------ load */

enum { FMT_NONE, FMT_PNG, FMT_JPEG, FMT_BMP, FMT_PNM };

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

static int sniff(const uint8_t *p, size_t n) {
    if (n >= 8 && memcmp(p, png_sig, 8) == 0) return FMT_PNG;
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return FMT_JPEG;
    if (n >= 2 && p[0] == 'B' && p[1] == 'M') return FMT_BMP;
    if (n >= 2 && p[0] == 'P' && (p[1] == '2' || p[1] == '3' || p[1] == '5' || p[1] == '6'))
        return FMT_PNM;
    return FMT_NONE;
}

/* stb's short failure reasons, mapped to our statuses. */
static siren_status stb_failure(const char *path) {
    const char *why = stbi_failure_reason();
    if (!why) why = "unknown error";
    if (strcmp(why, "outofmem") == 0)
        return siren_fail(SIREN_ENOMEM, "%s: out of memory (stb: %s)", path, why);
    if (strcmp(why, "too large") == 0)
        return siren_fail(SIREN_ELIMIT, "%s: image too large for the decoder "
                          "(stb: %s)", path, why);
    return siren_fail(SIREN_EFORMAT, "%s: " BAD " (stb: %s)", path, why);
}

siren_status siren_image_load(const char *path, siren_image *img,
                              int *dropped_alpha) {
    return siren_image_load_max(path, 0, img, dropped_alpha);
}

siren_status siren_image_load_max(const char *path, size_t max_pixels,
                                  siren_image *img, int *dropped_alpha) {
    const size_t limit = max_pixels ? max_pixels : SIREN_MAX_IMAGE_PIXELS;
    uint8_t *buf;
    size_t n, count;
    int fmt, w, h, comp, out_ch, is16;
    void *pix;
    float *out;
    siren_status st;

    SIREN_ASSERT(path && img);
    memset(img, 0, sizeof *img);
    if (dropped_alpha) *dropped_alpha = 0;
    st = read_file(path, &buf, &n);
    if (st != SIREN_OK) return st;

    fmt = sniff(buf, n);
    switch (fmt) {
    case FMT_PNG: st = png_check(path, limit, buf, n); break;
    case FMT_JPEG: st = jpeg_check(path, limit, buf, n); break;
    case FMT_BMP: st = bmp_check(path, limit, buf, n); break;
    case FMT_PNM: st = pnm_load(path, limit, buf, n, img); free(buf); return st;
    default:
        if (n == 0)
            st = siren_fail(SIREN_EFORMAT, "%s: empty file, " KINDS, path);
        else if (n < 8 && memcmp(buf, png_sig, n) == 0)
            st = siren_fail(SIREN_EFORMAT, "%s: " BAD " (file ends inside the "
                            "PNG signature)", path);
        else
            st = siren_fail(SIREN_EFORMAT, "%s: " KINDS, path);
    }
    if (st != SIREN_OK) goto done;

    if (!stbi_info_from_memory(buf, (int)n, &w, &h, &comp)) {
        st = stb_failure(path);
        goto done;
    }
    st = check_dims(path, limit, (uint64_t)w, (uint64_t)h);
    if (st != SIREN_OK) goto done;
    is16 = stbi_is_16_bit_from_memory(buf, (int)n);
    if (is16)
        pix = stbi_load_16_from_memory(buf, (int)n, &w, &h, &comp, 0);
    else
        pix = stbi_load_from_memory(buf, (int)n, &w, &h, &comp, 0);
    if (!pix) {
        st = stb_failure(path);
        goto done;
    }
    if (comp < 1 || comp > 4) {
        stbi_image_free(pix);
        st = siren_fail(SIREN_EFORMAT, "%s: unsupported number of channels (%d)",
                        path, comp);
        goto done;
    }

    /* gray(+alpha) -> 1 channel, RGB(A) -> 3; alpha is dropped, not blended */
    out_ch = comp <= 2 ? 1 : 3;
    count = (size_t)w * (size_t)h;
    out = malloc(count * (size_t)out_ch * sizeof *out);
    if (!out) {
        stbi_image_free(pix);
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %dx%d pixels", path,
                        w, h);
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        for (int c = 0; c < out_ch; c++) {
            size_t k = i * (size_t)comp + (size_t)c;
            out[i * (size_t)out_ch + (size_t)c] =
                is16 ? (float)((const uint16_t *)pix)[k] / 65535.0f
                     : (float)((const uint8_t *)pix)[k] / 255.0f;
        }
    }
    stbi_image_free(pix);
    if (dropped_alpha && (comp == 2 || comp == 4)) *dropped_alpha = 1;
    img->width = w;
    img->height = h;
    img->channels = out_ch;
    img->data = out;
done:
    free(buf);
    return st;
}

void siren_image_free(siren_image *img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* ------------------------------------------------------------ resize */

/* One axis of a separable resampling: output i = sum over t < taps of
 * w[i*taps + t] * input[first[i] + t] (unused taps have weight 0). */
typedef struct {
    int taps;
    int *first;
    double *w;
} axis_weights;

/* Shrinking: output pixel i covers input [i*in/out, (i+1)*in/out); each
 * input pixel weighs by its overlap (exact box filter, done in integers
 * scaled by `out` so non-integer ratios are exact). Enlarging: bilinear
 * between pixel centres, src = (i + 0.5) * in/out - 0.5, clamped. */
static int axis_init(axis_weights *a, int in, int out) {
    int64_t I = in, O = out;
    a->taps = out < in ? (int)((in + out - 1) / out) + 1 : 2;
    a->first = malloc((size_t)out * sizeof *a->first);
    a->w = calloc((size_t)out * (size_t)a->taps, sizeof *a->w);
    if (!a->first || !a->w) return 0;
    for (int64_t i = 0; i < O; i++) {
        double *w = a->w + i * a->taps;
        if (out < in) {
            int64_t lo = i * I, hi = (i + 1) * I; /* in units of 1/out pixel */
            int64_t j0 = lo / O, j1 = (hi - 1) / O;
            a->first[i] = (int)j0;
            for (int64_t j = j0; j <= j1; j++) {
                int64_t a0 = j * O > lo ? j * O : lo;
                int64_t a1 = (j + 1) * O < hi ? (j + 1) * O : hi;
                w[j - j0] = (double)(a1 - a0) / (double)I;
            }
        } else if (out == in) {
            a->first[i] = (int)i;
            w[0] = 1.0;
        } else {
            double x = ((double)i + 0.5) * (double)I / (double)O - 0.5;
            int j;
            if (x < 0) x = 0;
            if (x > (double)(in - 1)) x = (double)(in - 1);
            j = (int)x;
            if (j > in - 2) j = in - 2;
            if (j < 0) { /* in == 1 */
                a->first[i] = 0;
                w[0] = 1.0;
                continue;
            }
            a->first[i] = j;
            w[0] = (double)(j + 1) - x;
            w[1] = x - (double)j;
        }
    }
    return 1;
}

static void axis_free(axis_weights *a) {
    free(a->first);
    free(a->w);
}

siren_status siren_image_resize(const siren_image *src, int width, int height,
                                siren_image *dst) {
    axis_weights ax = {0}, ay = {0};
    double *tmp = NULL;
    float *out = NULL;
    int C, W0, H0;
    siren_status st = SIREN_OK;

    SIREN_ASSERT(src && dst);
    memset(dst, 0, sizeof *dst);
    if (!src->data || src->width <= 0 || src->height <= 0 || src->channels <= 0)
        return siren_fail(SIREN_EINVAL, "resize: empty source image");
    if (width <= 0 || height <= 0)
        return siren_fail(SIREN_EINVAL, "resize to %dx%d: width and height "
                          "must be positive", width, height);
    if ((uint64_t)width * (uint64_t)height > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "resize to %dx%d: exceeds the limit of "
                          "%zu pixels (SIREN_MAX_IMAGE_PIXELS)", width, height,
                          SIREN_MAX_IMAGE_PIXELS);
    C = src->channels;
    W0 = src->width;
    H0 = src->height;

    if (!axis_init(&ax, W0, width) || !axis_init(&ay, H0, height) ||
        !(tmp = malloc((size_t)H0 * (size_t)width * (size_t)C * sizeof *tmp)) ||
        !(out = malloc((size_t)height * (size_t)width * (size_t)C * sizeof *out))) {
        free(out);
        st = siren_fail(SIREN_ENOMEM, "resize to %dx%d: out of memory", width,
                        height);
        goto done;
    }

    /* rows first: tmp is (H0, width, C) in double, then columns */
    for (int r = 0; r < H0; r++) {
        const float *row = src->data + (size_t)r * (size_t)W0 * (size_t)C;
        double *trow = tmp + (size_t)r * (size_t)width * (size_t)C;
        for (int i = 0; i < width; i++) {
            const double *w = ax.w + (size_t)i * (size_t)ax.taps;
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int t = 0; t < ax.taps; t++)
                    if (w[t] != 0)
                        s += w[t] * row[(size_t)(ax.first[i] + t) * (size_t)C + (size_t)c];
                trow[(size_t)i * (size_t)C + (size_t)c] = s;
            }
        }
    }
    for (int i = 0; i < height; i++) {
        const double *w = ay.w + (size_t)i * (size_t)ay.taps;
        float *orow = out + (size_t)i * (size_t)width * (size_t)C;
        size_t rowlen = (size_t)width * (size_t)C;
        for (size_t k = 0; k < rowlen; k++) {
            double s = 0;
            for (int t = 0; t < ay.taps; t++)
                if (w[t] != 0) s += w[t] * tmp[(size_t)(ay.first[i] + t) * rowlen + k];
            orow[k] = (float)s;
        }
    }
    dst->width = width;
    dst->height = height;
    dst->channels = C;
    dst->data = out;
done:
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    return st;
}

/* ------------------------------------------------------------ write */

static void write_to_file(void *ctx, void *data, int size) {
    FILE *f = ctx;
    if (size > 0) fwrite(data, 1, (size_t)size, f); /* errors stay in ferror */
}

siren_status siren_image_write_png(const char *path, const siren_image *img) {
    size_t count;
    uint8_t *px;
    FILE *fp;
    char *tmp;
    siren_status st;

    SIREN_ASSERT(path && img);
    if (!img->data || img->width <= 0 || img->height <= 0 || img->channels < 1 ||
        img->channels > 4)
        return siren_fail(SIREN_EINVAL, "%s: cannot write an image of %dx%d "
                          "pixels and %d channels", path, img->width, img->height,
                          img->channels);
    if ((uint64_t)img->width * (uint64_t)img->height > SIREN_MAX_IMAGE_PIXELS)
        return siren_fail(SIREN_EINVAL, "%s: %dx%d pixels exceeds the limit of "
                          "%zu pixels (SIREN_MAX_IMAGE_PIXELS)", path, img->width,
                          img->height, SIREN_MAX_IMAGE_PIXELS);
    count = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    px = malloc(count);
    if (!px) return siren_fail(SIREN_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < count; i++) {
        float v = img->data[i];
        if (!(v > 0.0f)) v = 0.0f; /* NaN too */
        if (v > 1.0f) v = 1.0f;
        px[i] = (uint8_t)(v * 255.0f + 0.5f);
    }

    st = siren_atomic_open(path, &fp, &tmp);
    if (st != SIREN_OK) {
        free(px);
        return st;
    }
    if (!stbi_write_png_to_func(write_to_file, fp, img->width, img->height,
                                img->channels, px, img->width * img->channels)) {
        free(px);
        siren_atomic_abort(fp, tmp);
        return siren_fail(SIREN_ENOMEM, "%s: PNG encoding failed (out of memory)",
                          path);
    }
    free(px);
    return siren_atomic_commit(path, fp, tmp);
}
