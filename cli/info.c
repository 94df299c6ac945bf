/* siren info MODEL: architecture and metadata of a model file. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"

static const char *info_help =
    "Usage: siren info MODEL [--json]\n"
    "\n"
    "Print a model's architecture, parameter count and metadata.\n";

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
    if (siren_net_load(model, &net)) cli_fail();
    const siren_config *c = siren_net_config(net);
    size_t params = siren_net_param_count(net);
    if (json) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "arch", "siren");
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
        printf("%s: SIREN %d -> %d x%d hidden layers of %d -> %d, omega_0 %g "
               "(first) / %g (hidden), %zu parameters (%.1f KiB as float32)\n",
               model, c->in_features, c->hidden_features, c->hidden_layers,
               c->hidden_features, c->out_features, c->first_omega_0,
               c->hidden_omega_0, params, params * 4 / 1024.0);
        for (int i = 0; i < siren_net_meta_count(net); i++) {
            const char *k, *v;
            siren_net_meta_at(net, i, &k, &v);
            printf("  %s: %s\n", k, v);
        }
    }
    siren_net_free(net);
    return 0;
}
