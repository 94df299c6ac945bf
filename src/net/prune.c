/* Pruning: keep the `width` units of every hidden layer whose outgoing
 * weights are largest. A unit's activation is bounded (|sin| <= 1), so the
 * L2 norm of its outgoing column bounds what removing it can change in the
 * next layer's pre-activations; removing a unit is exactly zeroing that
 * column (the test checks the pruned model against the zeroed one). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/error.h"

typedef struct {
    double norm;
    int index;
} unit_score;

static int by_norm_desc(const void *a, const void *b) {
    const unit_score *x = a, *y = b;
    if (x->norm != y->norm) return x->norm > y->norm ? -1 : 1;
    return x->index - y->index;
}

static int by_index(const void *a, const void *b) {
    return ((const unit_score *)a)->index - ((const unit_score *)b)->index;
}

siren_status siren_net_prune(const siren_net *net, int width, siren_net **out) {
    *out = NULL;
    const siren_config *c = &net->cfg;
    if (c->encoding != SIREN_ENC_NONE)
        return siren_fail(SIREN_EINVAL, "pruning takes networks without an input encoding");
    if (width < 1 || width > c->hidden_features)
        return siren_fail(SIREN_EINVAL, "a width of %d: 1 .. %d", width, c->hidden_features);
    siren_config pc = *c;
    pc.hidden_features = width;
    siren_net *p;
    siren_status st = siren_net_alloc(&pc, &p);
    if (st) return st;
    const int L = net->n_linear, H = c->hidden_features;
    /* keep[l][k]: the k-th kept unit of hidden layer l (output of linear l) */
    int *keep = malloc((size_t)(L - 1) * width * sizeof *keep);
    unit_score *sc = malloc((size_t)H * sizeof *sc);
    if (!keep || !sc) {
        free(keep);
        free(sc);
        siren_net_free(p);
        return siren_fail(SIREN_ENOMEM, "out of memory");
    }
    for (int l = 0; l < L - 1; l++) {
        const int nout = net->dims[l + 2]; /* the next layer's outputs */
        const float *Wn = net->params + net->w_off[l + 1];
        for (int j = 0; j < H; j++) {
            double s = 0;
            for (int o = 0; o < nout; o++) s += (double)Wn[(size_t)o * H + j] * Wn[(size_t)o * H + j];
            sc[j] = (unit_score){sqrt(s), j};
        }
        qsort(sc, H, sizeof *sc, by_norm_desc);
        qsort(sc, width, sizeof *sc, by_index); /* the kept ones in order */
        for (int k = 0; k < width; k++) keep[l * width + k] = sc[k].index;
    }
    for (int l = 0; l < L; l++) {
        const int in = net->dims[l], pin = p->dims[l], pout = p->dims[l + 1];
        const float *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        float *PW = p->params + p->w_off[l], *pb = p->params + p->b_off[l];
        for (int o = 0; o < pout; o++) {
            /* rows: the kept units of this layer (all outputs for the last) */
            const int ro = l < L - 1 ? keep[l * width + o] : o;
            for (int i = 0; i < pin; i++) {
                /* columns: the kept units of the layer below (all inputs for
                 * the first) */
                const int ci = l > 0 ? keep[(l - 1) * width + i] : i;
                PW[(size_t)o * pin + i] = W[(size_t)ro * in + ci];
            }
            pb[o] = b[ro];
        }
    }
    free(keep);
    free(sc);
    for (int i = 0; i < net->n_meta; i++)
        if ((st = siren_net_set_meta(p, net->meta_key[i], net->meta_val[i]))) {
            siren_net_free(p);
            return st;
        }
    *out = p;
    return SIREN_OK;
}
