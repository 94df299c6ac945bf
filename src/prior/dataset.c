/* Image sets for the prior: Fashion-MNIST (or MNIST) folders and IDX files
 * through src/io/idx.c, or a folder of pictures through the image reader,
 * each resampled to one size and channel count. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/idx.h"
#include "prior/prior.h"
#include "util/error.h"

void siren_image_set_free(siren_image_set *s) {
    if (!s) return;
    free(s->data);
    memset(s, 0, sizeof *s);
}

static int readable(const char *dir, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, R_OK) == 0;
}

static int is_mnist_dir(const char *dir) {
    static const char *const names[] = {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                        "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"};
    for (int i = 0; i < 4; i++)
        if (readable(dir, names[i])) return 1;
    return 0;
}

/* Resample every image of s to size x size (nothing when it is already). */
static siren_status resize_set(siren_image_set *s, int size, const char *path) {
    if (size <= 0 || (s->width == size && s->height == size)) return SIREN_OK;
    const size_t in_px = (size_t)s->width * s->height * s->channels,
                 out_px = (size_t)size * size * s->channels;
    size_t total;
    if (!siren_mul_size(out_px, s->count, &total))
        return siren_fail(SIREN_ELIMIT, "%s: too many images to resize", path);
    float *d = malloc(total * sizeof *d);
    if (!d) return siren_fail(SIREN_ENOMEM, "%s: out of memory resizing to %dx%d", path, size, size);
    for (size_t i = 0; i < s->count; i++) {
        siren_image src = {s->width, s->height, s->channels, s->data + i * in_px}, dst;
        siren_status st = siren_image_resize(&src, size, size, &dst);
        if (st) {
            free(d);
            return st;
        }
        memcpy(d + i * out_px, dst.data, out_px * sizeof *d);
        siren_image_free(&dst);
    }
    free(s->data);
    s->data = d;
    s->width = s->height = size;
    return SIREN_OK;
}

static siren_status load_idx(const char *path, size_t limit, siren_image_set *s) {
    siren_idx x;
    siren_status st = siren_idx_load_head(path, 0, limit, &x);
    if (st) return st;
    const size_t C = x.ndim == 4 ? x.dims[3] : 1;
    if (x.type != SIREN_IDX_U8 || (x.ndim != 3 && x.ndim != 4) || (C != 1 && C != 3) ||
        x.dims[1] > 65536 || x.dims[2] > 65536) {
        siren_idx_free(&x);
        return siren_fail(SIREN_EFORMAT, "%s: not a set of images (uint8 N x H x W, or N x H x "
                          "W x C with C 1 or 3)", path);
    }
    s->count = x.dims[0];
    s->height = (int)x.dims[1];
    s->width = (int)x.dims[2];
    s->channels = (int)C;
    s->data = x.data;
    for (size_t i = 0; i < x.n; i++) s->data[i] /= 255.0f;
    return SIREN_OK;
}

static int image_name(const char *n) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"};
    size_t len = strlen(n);
    if (n[0] == '.') return 0;
    for (int i = 0; i < 6; i++) {
        size_t e = strlen(ext[i]);
        if (len > e && !strcasecmp(n + len - e, ext[i])) return 1;
    }
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* gray <-> RGB: copy or luma */
static void convert(const siren_image *im, int C, float *out) {
    const size_t n = (size_t)im->width * im->height;
    for (size_t i = 0; i < n; i++) {
        const float *p = im->data + i * im->channels;
        if (im->channels == C) memcpy(out + i * C, p, C * sizeof *p);
        else if (C == 1) out[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
        else out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = p[0];
    }
}

static siren_status load_folder(const char *dir, int size, size_t limit, siren_image_set *s) {
    DIR *d = opendir(dir);
    if (!d) return siren_fail(SIREN_EIO, "%s: cannot open the folder", dir);
    char **names = NULL;
    size_t n = 0, cap = 0, owned = 0;
    siren_status st = SIREN_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!image_name(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = siren_fail(SIREN_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = siren_fail(SIREN_ENOMEM, "out of memory");
            break;
        }
        owned = ++n;
    }
    closedir(d);
    if (!st && n == 0)
        st = siren_fail(SIREN_EFORMAT, "%s: no images in the folder (PNG, JPEG, BMP, PGM, PPM)",
                        dir);
    if (st) goto done;
    qsort(names, n, sizeof *names, cmp_name);
    if (limit && limit < n) n = limit;
    if (size <= 0) size = 32;
    const size_t px = (size_t)size * size;
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        siren_image im, small;
        if ((st = siren_image_load(path, &im, NULL))) goto done;
        st = siren_image_resize(&im, size, size, &small);
        siren_image_free(&im);
        if (st) goto done;
        if (i == 0) {
            s->width = s->height = size;
            s->channels = small.channels;
            s->data = malloc(n * px * s->channels * sizeof(float));
            if (!s->data) {
                siren_image_free(&small);
                st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu images", dir, n);
                goto done;
            }
        }
        convert(&small, s->channels, s->data + i * px * s->channels);
        siren_image_free(&small);
        s->count = i + 1;
    }
done:
    for (size_t i = 0; i < owned; i++) free(names[i]);
    free(names);
    return st;
}

siren_status siren_image_set_load(const char *path, int test_split, int size, size_t limit,
                                  siren_image_set *s) {
    memset(s, 0, sizeof *s);
    if (size < 0 || size > SIREN_PRIOR_MAX_SIZE)
        return siren_fail(SIREN_EINVAL, "image size %d is not in [1, %d]", size,
                          SIREN_PRIOR_MAX_SIZE);
    struct stat sb;
    if (stat(path, &sb) != 0) return siren_fail(SIREN_EIO, "%s: no such file or folder", path);
    siren_status st;
    if (S_ISDIR(sb.st_mode) && is_mnist_dir(path)) {
        float *im = NULL;
        uint8_t *labels = NULL;
        size_t n = 0;
        if ((st = siren_fashion_mnist_load(path, test_split, limit, &im, &labels, &n)))
            return st;
        free(labels);
        s->width = s->height = 28;
        s->channels = 1;
        s->count = n;
        s->data = im;
    } else if (S_ISDIR(sb.st_mode)) {
        st = load_folder(path, size, limit, s);
    } else {
        st = load_idx(path, limit, s);
    }
    if (!st) st = resize_set(s, size, path);
    if (st) siren_image_set_free(s);
    return st;
}
