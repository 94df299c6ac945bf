/* Sound files through libsndfile (Debian's libsndfile1): read any format it
 * knows into float samples, write 16-bit WAV or FLAC. libsndfile opens
 * paths itself, so the writer hands it the descriptor of the temporary file
 * that atomic.h renames into place. */
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/atomic.h"
#include "util/error.h"

void siren_audio_free(siren_audio *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

siren_status siren_audio_load(const char *path, size_t max_samples, siren_audio *a) {
    memset(a, 0, sizeof *a);
    const size_t limit = max_samples ? max_samples : SIREN_MAX_AUDIO_SAMPLES;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        const char *why = sf_strerror(NULL);
        FILE *probe = fopen(path, "rb");
        if (!probe) return siren_fail(SIREN_EIO, "%s: cannot open", path);
        fclose(probe);
        return siren_fail(SIREN_EFORMAT, "%s: not a sound file libsndfile can read "
                          "(%s)", path, why);
    }
    siren_status st = SIREN_OK;
    size_t n;
    if (info.channels < 1 || info.channels > 256 || info.samplerate < 1) {
        st = siren_fail(SIREN_EFORMAT, "%s: %d channels at %d Hz", path, info.channels,
                        info.samplerate);
        goto done;
    }
    if (info.frames <= 0) {
        st = siren_fail(SIREN_EFORMAT, "%s: no samples", path);
        goto done;
    }
    if (!siren_mul_size((size_t)info.frames, (size_t)info.channels, &n) || n > limit) {
        st = siren_fail(SIREN_ELIMIT, "%s: %lld frames of %d channels exceed the limit "
                        "of %zu samples (raise it with --max-samples)", path,
                        (long long)info.frames, info.channels, limit);
        goto done;
    }
    a->data = malloc(n * sizeof *a->data);
    if (!a->data) {
        st = siren_fail(SIREN_ENOMEM, "%s: out of memory for %zu samples", path, n);
        goto done;
    }
    sf_count_t got = sf_readf_float(f, a->data, info.frames);
    if (got != info.frames) {
        st = siren_fail(SIREN_EFORMAT, "%s: truncated: %lld of %lld frames read",
                        path, (long long)got, (long long)info.frames);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a->data[i])) {
            st = siren_fail(SIREN_EFORMAT, "%s: sample %zu is not finite", path,
                            i / (size_t)info.channels);
            goto done;
        }
    a->channels = info.channels;
    a->rate = info.samplerate;
    a->frames = (size_t)info.frames;
done:
    sf_close(f);
    if (st) siren_audio_free(a);
    return st;
}

siren_status siren_audio_write(const char *path, const siren_audio *a) {
    size_t len = strlen(path);
    int flac = len > 5 && !strcasecmp(path + len - 5, ".flac");
    int wav = len > 4 && !strcasecmp(path + len - 4, ".wav");
    if (!flac && !wav) return siren_fail(SIREN_EINVAL, "%s: write .wav or .flac", path);
    if (a->channels < 1 || a->rate < 1 || a->frames == 0 || !a->data)
        return siren_fail(SIREN_EINVAL, "%s: no samples to write", path);
    FILE *fp;
    char *tmp;
    siren_status st = siren_atomic_open(path, &fp, &tmp);
    if (st) return st;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.channels = a->channels;
    info.samplerate = a->rate;
    info.format = (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_16;
    /* libsndfile writes through our descriptor; the FILE stays unused
     * until commit, which syncs and closes it */
    SNDFILE *f = sf_open_fd(fileno(fp), SFM_WRITE, &info, 0);
    if (!f) {
        siren_atomic_abort(fp, tmp);
        return siren_fail(SIREN_EIO, "%s: cannot write (%s)", path, sf_strerror(NULL));
    }
    /* clipped to full scale, as the format holds no more */
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t put = sf_writef_float(f, a->data, (sf_count_t)a->frames);
    int err = sf_error(f);
    sf_write_sync(f);
    sf_close(f);
    if (put != (sf_count_t)a->frames || err) {
        siren_atomic_abort(fp, tmp);
        return siren_fail(SIREN_EIO, "%s: cannot write (%s)", path,
                          err ? sf_error_number(err) : "short write");
    }
    return siren_atomic_commit(path, fp, tmp);
}
