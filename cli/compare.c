/* siren compare INPUT --task T --arch A,B,... [--sweep KEY=V1,V2,...] -o DIR:
 * the seeds' comparisons as one command. Every configuration (each
 * architecture times each sweep value) is fitted with the same steps, seed
 * and thread count; DIR gets results.csv and results.md (final PSNR, SSIM,
 * seconds, parameters), curves.csv (every step), psnr.svg (PSNR against
 * step and against time) and panel.png (a row per configuration: value,
 * gradient magnitude, Laplacian, as the paper's Figure 1), plus one model
 * per configuration. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *compare_help =
    "Usage: siren compare IMAGE --arch A,B,... [--sweep KEY=V1,V2,...] -o DIR\n"
    "                     [--task image|grad|lapl] [fit options]\n"
    "\n"
    "Fit one image with several configurations at the same steps, seed and\n"
    "threads, and compare them. Configurations: every --arch (siren, relu,\n"
    "relu-pe, tanh, ffn) times every value of each --sweep (one or more; KEY\n"
    "is omega0, omega0-hidden, hidden, layers, lr, init, init-first,\n"
    "init-hidden, pe-freqs, ff-scale or ff-features). DIR gets:\n"
    "  results.csv, results.md  per configuration: PSNR and SSIM after the\n"
    "                 last step (grad, lapl: of the reconstruction), seconds,\n"
    "                 ms/step, parameters, the model file\n"
    "  curves.csv     step,seconds,loss,psnr_db of every step of every run\n"
    "  psnr.svg       training PSNR against step and against seconds, one line\n"
    "                 per configuration (grad, lapl: the loss, log scale)\n"
    "  panel.png      one row per configuration, in the order of results.md:\n"
    "                 value | gradient magnitude | Laplacian (the paper's\n"
    "                 Figure 1), each scaled as `siren render --what all`\n"
    "  NAME.safetensors  each configuration's model\n"
    "All of it is rewritten after every configuration, so an interrupted\n"
    "comparison keeps the ones it finished.\n"
    "\n"
    "Options (fit's, with these defaults):\n"
    "  -o, --output DIR   folder to write (made if missing), required\n"
    "  --task T           image (default), grad or lapl\n"
    "  --arch LIST        architectures, comma-separated (siren)\n"
    "  --sweep KEY=LIST   values of one option, comma-separated; repeatable\n"
    "  --steps N          Adam steps of every run (1000)\n"
    "  --size WxH         resample the input first\n"
    "  --hidden N, --layers N, --omega0 W, --omega0-hidden W, --lr X,\n"
    "  --init I, --init-first I, --init-hidden I, --pe-freqs L, --ff-scale S,\n"
    "  --ff-features M, --batch full|N, --seed N, --threads N   as for fit\n"
    "  --quiet            no progress bars\n"
    "  --json             print the results as one JSON array on stdout\n";

#define MAX_RUNS 64
#define MAX_SWEEPS 4
#define MAX_VALUES 16

/* One configuration's settings, as option strings (applied like fit's). */
typedef struct {
    const char *arch;
    const char *key[MAX_SWEEPS], *val[MAX_SWEEPS];
    int n_keys;
    char name[128], file[160];
    siren_config cfg; /* as resolved for the fit */
    /* results */
    double psnr, ssim, seconds, ms_median;
    size_t params;
    int steps;
    double *step, *sec, *loss, *psnr_curve;
    size_t n, cap;
} run_t;

/* The progress callback: the fit's own bar, and the run's curve. */
typedef struct {
    cli_progress *bar;
    run_t *run;
} recorder;

static int record(void *user, const siren_progress *p) {
    recorder *r = user;
    run_t *u = r->run;
    if (!p->warning) {
        if (u->n == u->cap) {
            u->cap = u->cap ? 2 * u->cap : 1024;
            u->step = realloc(u->step, u->cap * sizeof *u->step);
            u->sec = realloc(u->sec, u->cap * sizeof *u->sec);
            u->loss = realloc(u->loss, u->cap * sizeof *u->loss);
            u->psnr_curve = realloc(u->psnr_curve, u->cap * sizeof *u->psnr_curve);
            if (!u->step || !u->sec || !u->loss || !u->psnr_curve) cli_die("out of memory");
        }
        u->step[u->n] = p->step;
        u->sec[u->n] = p->seconds;
        u->loss[u->n] = p->loss;
        u->psnr_curve[u->n] = p->psnr_db;
        u->n++;
    }
    return cli_progress_cb(r->bar, p);
}

/* Split "a,b,c" into at most max pieces (the string is modified). */
static int split_list(char *s, const char **out, int max, const char *what) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max) cli_usage_error("compare", "%s: more than %d values", what, max);
        out[n++] = tok;
    }
    if (!n) cli_usage_error("compare", "%s: no values", what);
    return n;
}

static const char *const sweep_keys[] = {"omega0", "omega0-hidden", "hidden", "layers",
                                         "lr", "init", "init-first", "init-hidden",
                                         "pe-freqs", "ff-scale", "ff-features"};

/* The fit options common to every run, kept as argv pieces so each run
 * parses them the same way (fit's parser is the reference). */
typedef struct {
    siren_config cfg;
    siren_train_opts opt;
    const char *init_first, *init_hidden;
    int pe_freqs, ff_features;
} base_opts;

/* Apply one KEY=VALUE to a run's configuration. */
static void apply_key(const char *key, const char *v, siren_config *cfg,
                      siren_train_opts *opt, const char **init_first,
                      const char **init_hidden, int *pe_freqs, int *ff_features) {
    const char *cmd = "compare";
    if (!strcmp(key, "omega0")) cfg->first_omega_0 = (float)cli_double(cmd, "omega0", v, 1e-6, 1e6);
    else if (!strcmp(key, "omega0-hidden"))
        cfg->hidden_omega_0 = (float)cli_double(cmd, "omega0-hidden", v, 1e-6, 1e6);
    else if (!strcmp(key, "hidden")) cfg->hidden_features = (int)cli_int(cmd, "hidden", v, 1, 8192);
    else if (!strcmp(key, "layers")) cfg->hidden_layers = (int)cli_int(cmd, "layers", v, 0, 64);
    else if (!strcmp(key, "lr")) opt->lr = (float)cli_double(cmd, "lr", v, 1e-12, 10);
    else if (!strcmp(key, "init")) *init_first = *init_hidden = v;
    else if (!strcmp(key, "init-first")) *init_first = v;
    else if (!strcmp(key, "init-hidden")) *init_hidden = v;
    else if (!strcmp(key, "pe-freqs")) *pe_freqs = (int)cli_int(cmd, "pe-freqs", v, 1, 30);
    else if (!strcmp(key, "ff-scale")) cfg->ff_scale = (float)cli_double(cmd, "ff-scale", v, 1e-6, 1e6);
    else if (!strcmp(key, "ff-features")) *ff_features = (int)cli_int(cmd, "ff-features", v, 1, 4096);
    else cli_usage_error(cmd, "--sweep %s: not one of omega0, omega0-hidden, hidden, "
                              "layers, lr, init, init-first, init-hidden, pe-freqs, "
                              "ff-scale, ff-features", key);
}

/* Picture rows stacked with 4-pixel white gaps. */
static void stack_rows(const siren_image *rows, int n, siren_image *out) {
    int w = 0, h = 0;
    for (int i = 0; i < n; i++) {
        if (rows[i].width > w) w = rows[i].width;
        h += rows[i].height + (i ? 4 : 0);
    }
    out->width = w;
    out->height = h;
    out->channels = 3;
    out->data = malloc((size_t)w * h * 3 * sizeof(float));
    if (!out->data) cli_die("out of memory for the panel");
    for (size_t i = 0; i < (size_t)w * h * 3; i++) out->data[i] = 1.0f;
    int y = 0;
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < rows[i].height; r++)
            memcpy(out->data + ((size_t)(y + r) * w) * 3,
                   rows[i].data + (size_t)r * rows[i].width * 3,
                   (size_t)rows[i].width * 3 * sizeof(float));
        y += rows[i].height + 4;
    }
}

/* Everything DIR holds about the first `done` runs: rewritten after every
 * run, so an interrupted comparison keeps what it measured. */
static void write_outputs(const char *dir, const char *task, const char *input,
                          const base_opts *bo, int t_image, int n_sweeps,
                          const char *const *skey, run_t *runs, int done,
                          const siren_image *rows, const siren_image *img) {
    const base_opts b = *bo;
    /* results.csv and results.md */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    /* CLI.md's columns first (init: first/hidden when they differ), then
     * the swept keys */
    fprintf(m, "config,arch,init,omega0");
    for (int s = 0; s < n_sweeps; s++) fprintf(m, ",%s", skey[s]);
    fprintf(m, ",steps,psnr_db,ssim,seconds,ms_per_step_median,params,model\n");
    for (int r = 0; r < done; r++) {
        run_t *u = &runs[r];
        fprintf(m, "\"%s\",%s,%s%s%s,%g", u->name, u->arch, siren_init_name(u->cfg.init_first),
                u->cfg.init_first == u->cfg.init_hidden ? "" : "/",
                u->cfg.init_first == u->cfg.init_hidden ? "" : siren_init_name(u->cfg.init_hidden),
                u->cfg.first_omega_0);
        for (int s = 0; s < n_sweeps; s++) fprintf(m, ",%s", u->val[s]);
        fprintf(m, ",%d,%.4f,%.5f,%.3f,%.3f,%zu,%s.safetensors\n", u->steps, u->psnr,
                u->ssim, u->seconds, u->ms_median, u->params, u->file);
    }
    fclose(m);
    char path[4096];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    if (cli_write_atomic(path, buf, len)) cli_die("%s: cannot write (%s)", path, strerror(errno));
    free(buf);
    m = open_memstream(&buf, &len);
    fprintf(m, "| configuration | PSNR (dB) | SSIM | seconds | ms/step | parameters |\n"
               "|---|---:|---:|---:|---:|---:|\n");
    for (int r = 0; r < done; r++)
        fprintf(m, "| %s | %.2f | %.4f | %.1f | %.1f | %zu |\n", runs[r].name, runs[r].psnr,
                runs[r].ssim, runs[r].seconds, runs[r].ms_median, runs[r].params);
    fprintf(m, "\n%s %s, %d steps each, seed %llu%s; PSNR and SSIM after the last step%s.\n",
            task, input, b.opt.steps, (unsigned long long)b.opt.seed,
            b.opt.batch ? ", minibatches" : ", full batch",
            t_image ? "" : " (of the reconstruction from the derivatives)");
    fclose(m);
    snprintf(path, sizeof path, "%s/results.md", dir);
    if (cli_write_atomic(path, buf, len)) cli_die("%s: cannot write (%s)", path, strerror(errno));
    free(buf);

    /* curves.csv */
    m = open_memstream(&buf, &len);
    fprintf(m, "config,step,seconds,loss,psnr_db\n");
    for (int r = 0; r < done; r++)
        for (size_t i = 0; i < runs[r].n; i++)
            fprintf(m, "\"%s\",%.0f,%.6f,%.9g,%.6f\n", runs[r].name, runs[r].step[i],
                    runs[r].sec[i], runs[r].loss[i], runs[r].psnr_curve[i]);
    fclose(m);
    snprintf(path, sizeof path, "%s/curves.csv", dir);
    if (cli_write_atomic(path, buf, len)) cli_die("%s: cannot write (%s)", path, strerror(errno));
    free(buf);

    /* psnr.svg: PSNR (image) or the loss (grad, lapl) against step and time */
    cli_series *by_step = calloc(done, sizeof *by_step), *by_time = calloc(done, sizeof *by_time);
    if (!by_step || !by_time) cli_die("out of memory");
    for (int r = 0; r < done; r++) {
        const double *y = t_image ? runs[r].psnr_curve : runs[r].loss;
        by_step[r] = (cli_series){runs[r].name, runs[r].step, y, runs[r].n};
        by_time[r] = (cli_series){runs[r].name, runs[r].sec, y, runs[r].n};
    }
    const cli_series *panels[2] = {by_step, by_time};
    const char *xl[2] = {"step", "seconds"};
    char title[256];
    snprintf(title, sizeof title, "%s: %s %dx%d, seed %llu", t_image ? "training PSNR" : "training loss",
             task, img->width, img->height, (unsigned long long)b.opt.seed);
    char *svg = cli_svg_plot(title, 2, xl, t_image ? "PSNR (dB)" : "loss (log scale)", panels,
                             done, !t_image);
    snprintf(path, sizeof path, "%s/psnr.svg", dir);
    if (cli_write_atomic(path, svg, strlen(svg)))
        cli_die("%s: cannot write (%s)", path, strerror(errno));
    free(svg);
    free(by_step);
    free(by_time);

    /* panel.png */
    siren_image panel;
    stack_rows(rows, done, &panel);
    snprintf(path, sizeof path, "%s/panel.png", dir);
    if (siren_image_write_png(path, &panel)) cli_fail();
    siren_image_free(&panel);

}

int cli_compare(int argc, char **argv) {
    const char *cmd = "compare";
    if (argc >= 1 && (cli_flag(argv[0], "--help") || cli_flag(argv[0], "-h"))) {
        fputs(compare_help, stdout);
        return 0;
    }
    const char *input = NULL, *dir = NULL, *task = "image", *v;
    char *arch_list = NULL;
    char *sweeps[MAX_SWEEPS];
    int n_sweeps = 0, quiet = 0, json = 0, sw = 0, sh = 0;
    base_opts b = {siren_config_default(2, 1), siren_train_opts_default(), NULL, NULL, 0, 0};
    b.opt.steps = 1000;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(compare_help, stdout);
            return 0;
        } else if (cli_flag(a, "--quiet")) quiet = 1;
        else if (cli_flag(a, "--json")) json = 1;
        else if ((v = cli_opt(cmd, argc, argv, &i, "-o")) ||
                 (v = cli_opt(cmd, argc, argv, &i, "--output"))) dir = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--task"))) task = v;
        else if ((v = cli_opt(cmd, argc, argv, &i, "--arch"))) {
            free(arch_list);
            arch_list = strdup(v);
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--sweep"))) {
            if (n_sweeps == MAX_SWEEPS)
                cli_usage_error(cmd, "at most %d --sweep options", MAX_SWEEPS);
            sweeps[n_sweeps++] = strdup(v);
        } else if ((v = cli_opt(cmd, argc, argv, &i, "--size")))
            cli_size(cmd, "--size", v, &sw, &sh);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--steps")))
            b.opt.steps = (int)cli_int(cmd, "--steps", v, 1, 100000000);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--batch")))
            b.opt.batch = strcmp(v, "full") == 0 ? 0 : (size_t)cli_int(cmd, "--batch", v, 1, 1L << 40);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--seed")))
            b.opt.seed = (uint64_t)cli_int(cmd, "--seed", v, 0, __LONG_MAX__);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--threads")))
            b.opt.threads = (int)cli_int(cmd, "--threads", v, 1, 1024);
        else if ((v = cli_opt(cmd, argc, argv, &i, "--max-pixels")))
            cli_max_pixels = (size_t)cli_int(cmd, "--max-pixels", v, 1, 1L << 40);
        else if (a[0] == '-' && a[1] == '-' && i + 1 < argc) {
            /* the per-configuration keys, also as plain options */
            int known = 0;
            for (size_t k = 0; k < sizeof sweep_keys / sizeof *sweep_keys; k++)
                if (!strcmp(a + 2, sweep_keys[k])) known = 1;
            if (!known) cli_usage_error(cmd, "unknown option %s", a);
            apply_key(a + 2, argv[++i], &b.cfg, &b.opt, &b.init_first, &b.init_hidden,
                      &b.pe_freqs, &b.ff_features);
        } else if (a[0] == '-' && a[1]) cli_usage_error(cmd, "unknown option %s", a);
        else if (!input) input = a;
        else cli_usage_error(cmd, "unexpected argument '%s'", a);
    }
    if (!input) cli_usage_error(cmd, "missing the input image");
    if (!dir) cli_usage_error(cmd, "missing -o DIR");
    const int t_image = !strcmp(task, "image"), t_grad = !strcmp(task, "grad"),
              t_lapl = !strcmp(task, "lapl");
    if (!t_image && !t_grad && !t_lapl)
        cli_usage_error(cmd, "--task %s: compare takes image, grad or lapl", task);

    /* the configurations: arch x sweep values (product over sweeps) */
    const char *archs[MAX_VALUES];
    int n_archs = arch_list ? split_list(arch_list, archs, MAX_VALUES, "--arch") : 1;
    if (!arch_list) archs[0] = "siren";
    const char *skey[MAX_SWEEPS], *svals[MAX_SWEEPS][MAX_VALUES];
    int n_svals[MAX_SWEEPS];
    for (int s = 0; s < n_sweeps; s++) {
        char *eq = strchr(sweeps[s], '=');
        if (!eq) cli_usage_error(cmd, "--sweep %s: KEY=V1,V2,...", sweeps[s]);
        *eq = 0;
        skey[s] = sweeps[s];
        n_svals[s] = split_list(eq + 1, svals[s], MAX_VALUES, "--sweep");
    }
    int total = n_archs;
    for (int s = 0; s < n_sweeps; s++) total *= n_svals[s];
    if (total > MAX_RUNS) cli_usage_error(cmd, "%d configurations: at most %d", total, MAX_RUNS);
    static run_t runs[MAX_RUNS];
    memset(runs, 0, sizeof runs);
    for (int r = 0; r < total; r++) {
        run_t *u = &runs[r];
        int rest = r;
        for (int s = n_sweeps - 1; s >= 0; s--) {
            u->key[s] = skey[s];
            u->val[s] = svals[s][rest % n_svals[s]];
            rest /= n_svals[s];
        }
        u->n_keys = n_sweeps;
        u->arch = archs[rest];
        int len = snprintf(u->name, sizeof u->name, "%s", u->arch);
        for (int s = 0; s < n_sweeps && len < (int)sizeof u->name; s++)
            len += snprintf(u->name + len, sizeof u->name - len, " %s=%s", u->key[s], u->val[s]);
        /* a file name: the configuration with spaces and '=' as '_' and '-' */
        len = snprintf(u->file, sizeof u->file, "%s", u->arch);
        for (int s = 0; s < n_sweeps && len < (int)sizeof u->file; s++)
            len += snprintf(u->file + len, sizeof u->file - len, "_%s-%s", u->key[s], u->val[s]);
        for (char *c = u->file; *c; c++)
            if (*c == '/' || *c == ' ') *c = '_';
        /* check every configuration before the first fit */
        siren_config cfg = b.cfg;
        siren_train_opts opt = b.opt;
        const char *ifirst = b.init_first, *ihidden = b.init_hidden;
        int pe = b.pe_freqs, ff = b.ff_features;
        for (int s = 0; s < n_sweeps; s++)
            apply_key(u->key[s], u->val[s], &cfg, &opt, &ifirst, &ihidden, &pe, &ff);
        cli_apply_arch(cmd, &cfg, u->arch, ifirst, ihidden, pe, ff);
    }
    if (mkdir(dir, 0777) && errno != EEXIST) cli_die("%s: cannot create (%s)", dir, strerror(errno));

    siren_image img;
    cli_load_image(input, sw, sh, quiet, &img);
    if (!t_image && img.channels == 3 && !quiet)
        fprintf(stderr, "siren: %s: the %s task fits the gray image (luma)\n", input, task);
    cli_catch_signals();
    siren_image *rows = calloc(total, sizeof *rows);
    if (!rows) cli_die("out of memory");
    for (int r = 0; r < total; r++) {
        run_t *u = &runs[r];
        siren_config cfg = b.cfg;
        siren_train_opts opt = b.opt;
        const char *ifirst = b.init_first, *ihidden = b.init_hidden;
        int pe = b.pe_freqs, ff = b.ff_features;
        for (int s = 0; s < u->n_keys; s++)
            apply_key(u->key[s], u->val[s], &cfg, &opt, &ifirst, &ihidden, &pe, &ff);
        cli_apply_arch(cmd, &cfg, u->arch, ifirst, ihidden, pe, ff);
        u->cfg = cfg;
        cli_progress bar;
        char label[160];
        snprintf(label, sizeof label, "%d/%d %s", r + 1, total, u->name);
        cli_progress_open(&bar, label, quiet, NULL);
        recorder rec = {&bar, u};
        opt.progress = record;
        opt.user = &rec;
        siren_net *net;
        siren_fit_result res;
        siren_status st = t_image ? siren_fit_image(&img, &cfg, &opt, &net, &res)
                          : t_grad ? siren_fit_grad(&img, &cfg, &opt, &net, &res)
                                   : siren_fit_lapl(&img, &cfg, &opt, &net, &res);
        cli_progress_close(&bar, st == SIREN_OK);
        if (st == SIREN_EDIVERGED) {
            fprintf(stderr, "siren: %s: %s diverged: %s (its last good model is kept)\n",
                    input, u->name, siren_last_error());
        } else if (st) {
            cli_die("%s: %s: %s", input, u->name, siren_last_error());
        }
        if (cli_interrupted) cli_die("interrupted during %s; the runs before it are in %s",
                                     u->name, dir);
        u->steps = res.steps;
        u->seconds = res.seconds;
        u->ms_median = res.step_ms_median;
        u->params = siren_net_param_count(net);
        if (t_image) {
            siren_image rend;
            u->psnr = res.psnr_db;
            if (siren_render_image(net, img.width, img.height, opt.threads, &rend) ||
                siren_ssim(&rend, &img, 1.0, &u->ssim))
                cli_fail();
            siren_image_free(&rend);
        } else {
            siren_poisson_eval ev;
            if (siren_eval_poisson(net, &img, opt.threads, &ev)) cli_fail();
            u->psnr = ev.psnr_db;
            u->ssim = ev.ssim;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, u->file);
        if (siren_net_save(net, path)) cli_fail();
        cli_figure1_picture(net, img.width, img.height, opt.threads, &rows[r]);
        if (!quiet)
            fprintf(stderr, "%s: %s: PSNR %.2f dB, SSIM %.4f, %.1f s\n", input, u->name,
                    u->psnr, u->ssim, u->seconds);
        siren_net_free(net);
        if (r + 1 < total)
            write_outputs(dir, task, input, &b, t_image, n_sweeps, skey, runs, r + 1, rows,
                          &img);
    }

    write_outputs(dir, task, input, &b, t_image, n_sweeps, skey, runs, total, rows, &img);
    for (int r = 0; r < total; r++) siren_image_free(&rows[r]);
    free(rows);

    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (int r = 0; r < total; r++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "config", runs[r].name);
            cJSON_AddStringToObject(o, "arch", runs[r].arch);
            cJSON_AddNumberToObject(o, "steps", runs[r].steps);
            if (isfinite(runs[r].psnr)) cJSON_AddNumberToObject(o, "psnr_db", runs[r].psnr);
            else cJSON_AddNullToObject(o, "psnr_db");
            cJSON_AddNumberToObject(o, "ssim", runs[r].ssim);
            cJSON_AddNumberToObject(o, "seconds", runs[r].seconds);
            cJSON_AddNumberToObject(o, "params", (double)runs[r].params);
            cJSON_AddItemToArray(arr, o);
        }
        char *js = cJSON_PrintUnformatted(arr);
        puts(js);
        free(js);
        cJSON_Delete(arr);
    }
    if (!quiet) fprintf(stderr, "siren: %d configurations compared; results in %s\n", total, dir);
    for (int r = 0; r < total; r++) {
        free(runs[r].step);
        free(runs[r].sec);
        free(runs[r].loss);
        free(runs[r].psnr_curve);
    }
    for (int s = 0; s < n_sweeps; s++) free(sweeps[s]);
    free(arch_list);
    siren_image_free(&img);
    return 0;
}
