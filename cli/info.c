/* siren info MODEL|PRIOR: architecture and metadata of a model file, or of
 * a prior's (siren prior train). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"

static const char *info_help =
    "Usage: siren info MODEL|PRIOR [--json]\n"
    "\n"
    "Print a model's architecture, parameter count and metadata; for a prior\n"
    "(siren prior train): its encoder, hypernetworks, the SIREN they generate\n"
    "and its metadata.\n";

/* A prior file: what siren_prior_config says, and the metadata. */
static int prior_info(const char *path, const siren_prior *pr, int json) {
    const siren_prior_config *c = siren_prior_get_config(pr);
    const size_t params = siren_prior_param_count(pr), sp = siren_prior_siren_param_count(pr);
    const char *enc = siren_activation_name(c->encoder_activation);
    if (json) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "prior");
        cJSON_AddNumberToObject(o, "size", c->size);
        cJSON_AddNumberToObject(o, "channels", c->channels);
        cJSON_AddNumberToObject(o, "latent", c->latent);
        cJSON_AddStringToObject(o, "encoder_activation", enc);
        cJSON_AddNumberToObject(o, "encoder_hidden", c->encoder_hidden);
        cJSON_AddNumberToObject(o, "encoder_layers", c->encoder_layers);
        cJSON_AddNumberToObject(o, "hyper_hidden", c->hyper_hidden);
        cJSON_AddNumberToObject(o, "hyper_layers", c->hyper_layers);
        cJSON_AddNumberToObject(o, "hidden_features", c->hidden_features);
        cJSON_AddNumberToObject(o, "hidden_layers", c->hidden_layers);
        cJSON_AddNumberToObject(o, "omega_0", c->omega_0);
        cJSON_AddNumberToObject(o, "params", (double)params);
        cJSON_AddNumberToObject(o, "siren_params", (double)sp);
        for (int i = 0; i < siren_prior_meta_count(pr); i++) {
            const char *k, *v;
            siren_prior_meta_at(pr, i, &k, &v);
            cJSON_AddStringToObject(m, k, v);
        }
        cJSON_AddItemToObject(o, "metadata", m);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s: prior over SIRENs for %dx%d images of %d channel%s: set encoder (%s, "
               "%d + %d layers of %d) -> latent %d -> hypernetworks (%d + 1 layers of %d, "
               "one per tensor) -> SIREN 2 -> %d x%d hidden layers -> %d, omega_0 %g "
               "(%zu parameters); %zu parameters (%.1f MiB as float32)\n",
               path, c->size, c->size, c->channels, c->channels == 1 ? "" : "s", enc, 1,
               c->encoder_layers, c->encoder_hidden, c->latent, c->hyper_layers,
               c->hyper_hidden, c->hidden_features, c->hidden_layers, c->channels,
               c->omega_0, sp, params, params * 4 / 1048576.0);
        for (int i = 0; i < siren_prior_meta_count(pr); i++) {
            const char *k, *v;
            siren_prior_meta_at(pr, i, &k, &v);
            printf("  %s: %s\n", k, v);
        }
    }
    return 0;
}

int cli_info(int argc, char **argv) {
    const char *cmd = "info";
    const char *model = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(info_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model) cli_usage_error(cmd, "missing MODEL");
    siren_net *net;
    if (siren_net_load(model, &net)) {
        /* not a model: a prior? (else the model loader's message, which
         * the prior loader's attempt would overwrite) */
        char why[512];
        snprintf(why, sizeof why, "%s", siren_last_error());
        siren_prior *pr;
        if (siren_prior_load(model, &pr) == SIREN_OK) {
            prior_info(model, pr, json);
            siren_prior_free(pr);
            return 0;
        }
        cli_die("%s", why);
    }
    const siren_config *c = siren_net_config(net);
    size_t params = siren_net_param_count(net);
    char abuf[32], ebuf[96] = "";
    const char *arch = siren_config_arch_name(c, abuf);
    if (c->encoding == SIREN_ENC_PE)
        snprintf(ebuf, sizeof ebuf, ", positional encoding of %d frequencies (fixed)",
                 c->encoding_features);
    else if (c->encoding == SIREN_ENC_FFN)
        snprintf(ebuf, sizeof ebuf, ", %d Gaussian Fourier features of scale %g (fixed)",
                 c->encoding_features, c->ff_scale);
    if (json) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "arch", arch);
        cJSON_AddStringToObject(o, "activation", siren_activation_name(c->activation));
        cJSON_AddStringToObject(o, "init_first", siren_init_name(c->init_first));
        cJSON_AddStringToObject(o, "init_hidden", siren_init_name(c->init_hidden));
        if (c->encoding != SIREN_ENC_NONE) {
            cJSON_AddStringToObject(o, "encoding", c->encoding == SIREN_ENC_PE ? "pe" : "ffn");
            cJSON_AddNumberToObject(o, "encoding_features", c->encoding_features);
        }
        cJSON_AddNumberToObject(o, "in_features", c->in_features);
        cJSON_AddNumberToObject(o, "out_features", c->out_features);
        cJSON_AddNumberToObject(o, "hidden_features", c->hidden_features);
        cJSON_AddNumberToObject(o, "hidden_layers", c->hidden_layers);
        cJSON_AddNumberToObject(o, "first_omega_0", c->first_omega_0);
        cJSON_AddNumberToObject(o, "hidden_omega_0", c->hidden_omega_0);
        cJSON_AddNumberToObject(o, "params", (double)params);
        for (int i = 0; i < siren_net_meta_count(net); i++) {
            const char *k, *v;
            siren_net_meta_at(net, i, &k, &v);
            cJSON_AddStringToObject(m, k, v);
        }
        cJSON_AddItemToObject(o, "metadata", m);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s: %s %d -> %d x%d hidden layers of %d -> %d%s, omega_0 %g "
               "(first) / %g (hidden), init %s / %s, %zu parameters (%.1f KiB as "
               "float32)\n", model, arch, c->in_features, c->hidden_features,
               c->hidden_layers, c->hidden_features, c->out_features, ebuf,
               c->first_omega_0, c->hidden_omega_0, siren_init_name(c->init_first),
               siren_init_name(c->init_hidden), params, params * 4 / 1024.0);
        for (int i = 0; i < siren_net_meta_count(net); i++) {
            const char *k, *v;
            siren_net_meta_at(net, i, &k, &v);
            printf("  %s: %s\n", k, v);
        }
    }
    siren_net_free(net);
    return 0;
}
