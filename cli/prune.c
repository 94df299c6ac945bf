/* siren prune MODEL IMAGE -o OUT (--keep F | --width W | --psnr-drop D):
 * remove the hidden units that matter least (siren_net_prune: the smallest
 * outgoing weights), then fine-tune on the image the model was fitted to. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *prune_help =
    "Usage: siren prune MODEL IMAGE -o OUT (--keep F | --width W | --psnr-drop D)\n"
    "                   [--finetune-steps N] [--stages S] [--lr X] [--threads N]\n"
    "                   [--json] [--quiet]\n"
    "\n"
    "Make an image model smaller: keep the same number of units in every\n"
    "hidden layer, those whose outgoing weights have the largest L2 norms\n"
    "(removing a unit is zeroing those weights), then fine-tune the smaller\n"
    "network on IMAGE, the image the model was fitted to, with Adam.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE    the pruned model, required\n"
    "  --keep F             keep about the fraction F of the parameters (0 < F <= 1):\n"
    "                       the largest width with at most F x the parameters\n"
    "  --width W            keep W units per hidden layer\n"
    "  --psnr-drop D        the smallest width whose PSNR before fine-tuning is\n"
    "                       within D dB of the model's\n"
    "  --finetune-steps N   Adam steps after pruning (500; 0: none)\n"
    "  --stages S           reach the width in S steps of geometrically falling\n"
    "                       widths, each followed by its share of the fine-tuning\n"
    "                       steps (1: prune once, then fine-tune)\n"
    "  --lr X               fine-tuning learning rate (1e-4)\n"
    "  --lr-schedule S      const, cosine or exp over each fine-tuning (const)\n"
    "  --lr-final X         the rate at the end of cosine or exp (lr / 100)\n"
    "  --warmup N           first N steps: the rate rises linearly to --lr (0)\n"
    "  --threads N          threads (all cores)\n"
    "  --json               one JSON object on stdout\n"
    "  --quiet              no progress bar or summary\n";

/* The PSNR of a model on the image (the fit's metric). */
static double psnr_on(const siren_net *net, const siren_image *img, int threads) {
    const size_t n = (size_t)img->width * img->height * img->channels;
    float *y = malloc(n * sizeof *y), *t = malloc(n * sizeof *t);
    if (!y || !t) cli_die("out of memory");
    if (siren_render_values(net, img->width, img->height, threads, y)) cli_fail();
    for (size_t i = 0; i < n; i++) t[i] = 2 * img->data[i] - 1;
    double p = siren_psnr(y, t, n, 2.0);
    free(y);
    free(t);
    return p;
}

int cli_prune(int argc, char **argv) {
    const char *cmd = "prune";
    const char *model = NULL, *input = NULL, *output = NULL, *v;
    double keep = 0, drop = -1;
    int width = 0, json = 0, quiet = 0, modes = 0, stages = 1;
    siren_train_opts opt = siren_train_opts_default();
    opt.steps = 500;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(prune_help, stdout);
            return 0;
        } else if (cli_flag(a, "--json")) json = 1;
        else if (cli_flag(a, "--quiet")) quiet = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) output = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--keep"))) {
            keep = cli_double(cmd, "--keep", v, 1e-6, 1);
            modes++;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--width"))) {
            width = (int)cli_int(cmd, "--width", v, 1, 8192);
            modes++;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--psnr-drop"))) {
            drop = cli_double(cmd, "--psnr-drop", v, 0, 1000);
            modes++;
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--finetune-steps")))
            opt.steps = (int)cli_int(cmd, "--finetune-steps", v, 0, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--stages")))
            stages = (int)cli_int(cmd, "--stages", v, 1, 1000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--lr")))
            opt.lr = (float)cli_double(cmd, "--lr", v, 1e-12, 10);
        else if (cli_lr_schedule_opt(cmd, argc, argv, &i, &opt))
            continue;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            opt.threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!model) model = a;
        else if (!input) input = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!model || !input) cli_usage_error(cmd, "needs MODEL and IMAGE (the image it was fitted to)");
    if (!output) cli_usage_error(cmd, "missing -o OUT.safetensors");
    if (modes != 1) cli_usage_error(cmd, "give one of --keep, --width, --psnr-drop");
    siren_net *net;
    if (siren_net_load(model, &net)) cli_fail();
    const siren_config *c = siren_net_config(net);
    const char *task = siren_net_get_meta(net, "task");
    if (!task || strcmp(task, "image"))
        cli_die("%s: prune fine-tunes image models (task is %s)", model, task ? task : "missing");
    siren_image img;
    cli_load_image(input, 0, 0, quiet, &img);
    const char *mw = siren_net_get_meta(net, "image_width"), *mh = siren_net_get_meta(net, "image_height");
    if (mw && mh && (atoi(mw) != img.width || atoi(mh) != img.height)) {
        siren_image r;
        if (siren_image_resize(&img, atoi(mw), atoi(mh), &r)) cli_fail();
        siren_image_free(&img);
        img = r;
    }
    const int H = c->hidden_features;
    const size_t params0 = siren_net_param_count(net);
    const double psnr0 = psnr_on(net, &img, opt.threads);
    siren_net *small = NULL;
    if (keep > 0) {
        /* the largest width within the budget (parameters grow with width) */
        for (int w = H; w >= 1 && !small; w--) {
            siren_net *p;
            if (siren_net_prune(net, w, &p)) cli_fail();
            if (siren_net_param_count(p) <= keep * params0 || w == 1) small = p;
            else siren_net_free(p);
        }
    } else if (width) {
        if (width > H) cli_usage_error(cmd, "--width %d: the model is %d wide", width, H);
        if (siren_net_prune(net, width, &small)) cli_fail();
    } else {
        /* PSNR falls as units go; bisect for the smallest width within D */
        int lo = 1, hi = H;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            siren_net *p;
            if (siren_net_prune(net, mid, &p)) cli_fail();
            if (psnr_on(p, &img, opt.threads) >= psnr0 - drop) hi = mid;
            else lo = mid + 1;
            siren_net_free(p);
        }
        if (siren_net_prune(net, lo, &small)) cli_fail();
    }
    const int w = siren_net_config(small)->hidden_features;
    /* Stages: widths H (w/H)^(s/S), s = 1..S, each pruned from the last
     * stage's fine-tuned model and fine-tuned for its share of the steps,
     * so the units that remain can take over from those that went a few
     * at a time. With one stage, `small` is already the pruned model. */
    if (stages > H - w) stages = H - w > 0 ? H - w : 1;
    siren_net *cur = NULL;
    double psnr_pruned = NAN;
    siren_fit_result res = {0};
    int steps_done = 0;
    double seconds = 0;
    cli_catch_signals();
    for (int s = 1; s <= stages; s++) {
        if (stages == 1) {
            cur = small;
            small = NULL;
        } else {
            int ws = s == stages ? w : (int)lround(H * pow((double)w / H, (double)s / stages));
            const int prev = cur ? siren_net_config(cur)->hidden_features : H;
            if (ws >= prev) ws = prev - 1;
            if (ws < w) ws = w;
            siren_net *next;
            if (siren_net_prune(cur ? cur : net, ws, &next)) cli_fail();
            siren_net_free(cur);
            cur = next;
        }
        if (s == 1) psnr_pruned = psnr_on(cur, &img, opt.threads);
        siren_train_opts so = opt;
        so.steps = opt.steps / stages + (s <= opt.steps % stages);
        res.psnr_db = psnr_on(cur, &img, opt.threads);
        if (so.steps > 0) {
            cli_progress prog;
            char label[64];
            if (stages > 1)
                snprintf(label, sizeof label, "fine-tune %d/%d (width %d)", s, stages,
                         siren_net_config(cur)->hidden_features);
            else
                snprintf(label, sizeof label, "fine-tune");
            cli_progress_open(&prog, label, quiet, NULL);
            so.progress = cli_progress_cb;
            so.user = &prog;
            siren_status st = siren_refit_image(cur, &img, &so, &res);
            cli_progress_close(&prog, st == SIREN_OK);
            if (st && st != SIREN_EDIVERGED) cli_die("%s: %s", input, siren_last_error());
            if (cli_interrupted) cli_die("interrupted; nothing written");
            steps_done += res.steps;
            seconds += res.seconds;
        }
    }
    siren_net_free(small);
    small = cur;
    res.steps = steps_done;
    res.seconds = seconds;
    if (siren_net_save(small, output)) cli_fail();
    const size_t params1 = siren_net_param_count(small);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "output", output);
        cJSON_AddNumberToObject(o, "width_before", H);
        cJSON_AddNumberToObject(o, "width", w);
        cJSON_AddNumberToObject(o, "params_before", (double)params0);
        cJSON_AddNumberToObject(o, "params", (double)params1);
        cJSON_AddNumberToObject(o, "psnr_before_db", psnr0);
        cJSON_AddNumberToObject(o, "psnr_pruned_db", psnr_pruned);
        cJSON_AddNumberToObject(o, "psnr_db", res.psnr_db);
        cJSON_AddNumberToObject(o, "finetune_steps", res.steps);
        cJSON_AddNumberToObject(o, "stages", stages);
        cJSON_AddNumberToObject(o, "seconds", res.seconds);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    if (!quiet)
        fprintf(stderr, "%s: %d -> %d units per hidden layer, %zu -> %zu parameters "
                        "(%.1f%%); PSNR %.2f dB before, %.2f dB pruned%s, %.2f dB after %d "
                        "fine-tuning steps; written to %s\n", model, H, w, params0, params1,
                100.0 * params1 / params0, psnr0, psnr_pruned,
                stages > 1 ? " (first stage)" : "", res.psnr_db, res.steps, output);
    siren_net_free(small);
    siren_net_free(net);
    siren_image_free(&img);
    return 0;
}
