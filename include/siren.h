/* libsiren — implicit neural representations with periodic activations
 * (SIREN, Sitzmann et al. 2020) fitted on the CPU.
 *
 * Fit a photo, save the model, render it back at twice the size:
 *
 *     siren_image img, big;
 *     siren_net *net;
 *     siren_fit_result res;
 *     siren_config cfg = siren_config_default(2, 1);     // (row, col) -> gray
 *     siren_train_opts opt = siren_train_opts_default();  // Adam 1e-4, full batch
 *     if (siren_image_load("camera.png", &img, NULL) != SIREN_OK ||
 *         siren_fit_image(&img, &cfg, &opt, &net, &res) != SIREN_OK) {
 *         fprintf(stderr, "%s\n", siren_last_error());
 *         return 1;
 *     }
 *     printf("PSNR %.2f dB\n", res.psnr_db);
 *     siren_net_save(net, "camera.safetensors");
 *     siren_render_image(net, 2 * img.width, 2 * img.height, 0, &big);
 *     siren_image_write_png("big.png", &big);
 *     siren_image_free(&big); siren_image_free(&img); siren_net_free(net);
 *
 * Conventions: coordinates are linspace(-1, 1, n) per axis, (row, col) for
 * images, row -1 at the top; image values [0, 1] map to network outputs
 * [-1, 1]. Errors: every function that can fail returns a siren_status and
 * leaves one line for the user in siren_last_error(); the library never
 * prints and never exits.
 */
#ifndef SIREN_H
#define SIREN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIREN_VERSION "0.1.0"

typedef enum {
    SIREN_OK = 0,
    SIREN_EINVAL,   /* an argument is out of range */
    SIREN_EIO,      /* a file could not be opened, read or written */
    SIREN_EFORMAT,  /* a file is malformed or of the wrong kind */
    SIREN_ENOMEM,   /* an allocation failed */
    SIREN_ELIMIT,   /* an input exceeds a safety limit */
    SIREN_ECANCELED, /* a callback asked to stop */
    SIREN_EDIVERGED  /* training diverged past the guard's retries */
} siren_status;

const char *siren_status_str(siren_status st);
/* The message of this thread's last failure, e.g.
 * "camera.png: not a PNG, JPEG, BMP, PGM or PPM image". */
const char *siren_last_error(void);

/* ------------------------------------------------------------------ images */

/* Pixels row-major (height, width, channels), values in [0, 1]. */
typedef struct {
    int width, height, channels; /* channels: 1 gray or 3 RGB */
    float *data;
} siren_image;

/* Largest image a reader accepts, in pixels (width * height). */
#define SIREN_MAX_IMAGE_PIXELS ((size_t)1 << 28)

/* Read PNG, JPEG, BMP, PGM or PPM. Gray stays 1 channel, colour becomes 3;
 * an alpha channel is dropped and *dropped_alpha (if not NULL) set to 1. */
siren_status siren_image_load(const char *path, siren_image *img,
                              int *dropped_alpha);
/* The same with another pixel limit (0: SIREN_MAX_IMAGE_PIXELS); larger
 * images are refused with SIREN_ELIMIT before anything is allocated. The
 * decoders have their own ceilings (stb_image: files under 2 GiB). */
siren_status siren_image_load_max(const char *path, size_t max_pixels,
                                  siren_image *img, int *dropped_alpha);
/* Resample to width x height: area average when shrinking, bilinear
 * (pixel-centre aligned) when enlarging. dst is allocated here. */
siren_status siren_image_resize(const siren_image *src, int width, int height,
                                siren_image *dst);
/* 8-bit PNG, written to a temporary file and renamed into place. */
siren_status siren_image_write_png(const char *path, const siren_image *img);
void siren_image_free(siren_image *img);

/* NumPy .npy (format 1.0, little-endian float32, C order), atomic. */
siren_status siren_npy_write(const char *path, const float *data, int ndim,
                             const size_t *shape);

/* PSNR in dB for values whose full range is `range` (2 for [-1, 1]):
 * 10 log10(range^2 / MSE). Infinite when the inputs are equal. */
double siren_psnr(const float *a, const float *b, size_t n, double range);
/* Mean SSIM (Wang et al. 2004) with an 11x11 Gaussian window, sigma 1.5,
 * K1 0.01, K2 0.03, population covariances, averaged over channels: the
 * same numbers as scikit-image's structural_similarity(gaussian_weights=
 * True, sigma=1.5, use_sample_covariance=False, data_range=range). */
siren_status siren_ssim(const siren_image *a, const siren_image *b,
                        double range, double *ssim);

/* ------------------------------------------------------------------- audio */

/* Samples as float, interleaved (frames, channels), in the file's own
 * scale (libsndfile maps integer PCM to [-1, 1)). */
typedef struct {
    int channels, rate;  /* channels >= 1, sample rate in Hz */
    size_t frames;
    float *data;
} siren_audio;

/* Default cap on the samples (frames x channels) a sound file may hold;
 * larger files are refused with SIREN_ELIMIT before anything is read. The
 * CLI raises it with --max-samples. */
#define SIREN_MAX_AUDIO_SAMPLES ((size_t)1 << 30)

/* WAV, FLAC, OGG and whatever else Debian's libsndfile reads. max_samples
 * 0 means SIREN_MAX_AUDIO_SAMPLES. Empty files, files libsndfile cannot
 * parse and non-finite samples are refused, naming the file. */
siren_status siren_audio_load(const char *path, size_t max_samples,
                              siren_audio *audio);
/* 16-bit PCM WAV (.wav) or FLAC (.flac) by the extension, samples clipped
 * to [-1, 1]; atomic (a temporary file renamed into place). */
siren_status siren_audio_write(const char *path, const siren_audio *audio);
void siren_audio_free(siren_audio *audio);

/* ------------------------------------------------------------------- video */

/* Frames row-major (frames, height, width, channels), values in [0, 1]. */
typedef struct {
    int frames, width, height, channels; /* channels: 1 gray or 3 RGB */
    float *data;
} siren_video;

/* Largest video a reader accepts, in values (frames * height * width *
 * channels): 2^29 floats, 2 GiB. */
#define SIREN_MAX_VIDEO_VALUES ((size_t)1 << 29)

/* Read a video from
 *   - a folder: its PNG, JPEG, BMP, PGM and PPM files in natural name order
 *     (frame2 before frame10);
 *   - a printf pattern with one %d conversion (flags 0 and a width allowed,
 *     "frames/%04d.png"): frames numbered from 0, or from 1 when there is
 *     no frame 0, up to the first missing number;
 *   - any other file: a video decoded by an `ffmpeg` binary on PATH through
 *     a pipe (RGB); without one, a clear error.
 * max_frames > 0 keeps the first max_frames frames; max_values 0 means
 * SIREN_MAX_VIDEO_VALUES. All frames must have the same size and channel
 * count; the error names the first frame that differs. */
siren_status siren_video_load(const char *path, int max_frames, size_t max_values,
                              siren_video *video);
/* Nonzero when `pattern` is a frame pattern siren_video_load and
 * siren_video_frame_path accept: exactly one %d conversion (optional 0 flag
 * and width below 10), any other '%' doubled. */
int siren_video_pattern_ok(const char *pattern);
/* The file name of frame `number` of a pattern; SIREN_EINVAL for a bad
 * pattern, SIREN_ELIMIT when it does not fit in `size` bytes. */
siren_status siren_video_frame_path(const char *pattern, int number, char *out,
                                    size_t size);
void siren_video_free(siren_video *video);

/* ------------------------------------------------------------------ shapes */

/* A triangle mesh or an oriented point cloud (n_faces == 0). */
typedef struct {
    size_t n_vertices, n_faces;
    float *v;     /* (n_vertices, 3) positions */
    float *vn;    /* (n_vertices, 3) normals, NULL when the file has none */
    uint32_t *f;  /* (n_faces, 3) triangles, 0-based; polygons are fanned */
} siren_mesh;

/* Default caps on what a shape file may declare (vertices, and faces after
 * fanning); larger files are refused with SIREN_ELIMIT before anything is
 * allocated. The CLI raises them with --max-points. */
#define SIREN_MAX_MESH_ELEMENTS ((size_t)1 << 27)

/* Read PLY (ASCII, binary little- or big-endian: vertex x y z, optional
 * nx ny nz, any other properties skipped; faces as a list of vertex
 * indices), XYZ (text, 3 or 6 columns: x y z [nx ny nz]) or OBJ (v, vn, f
 * in any index form; negative indices count from the end). The format is
 * chosen by the extension (.ply, .xyz/.txt/.pts, .obj). max_elements 0 means
 * SIREN_MAX_MESH_ELEMENTS. Rejects truncated files, counts that lie,
 * non-finite coordinates and face indices out of range, naming the file
 * and the problem. */
siren_status siren_mesh_load(const char *path, size_t max_elements,
                             siren_mesh *mesh);
/* Binary little-endian PLY (.ply) or OBJ (.obj), by the extension; normals
 * are written when mesh->vn is set. Atomic: a temporary file renamed into
 * place. */
siren_status siren_mesh_write(const char *path, const siren_mesh *mesh);
void siren_mesh_free(siren_mesh *mesh);

/* ----------------------------------------------------------------- network */

/* The activation of the hidden layers, f(z) with z = W h + b: sine is
 * sin(omega_0 z); relu and tanh ignore omega_0 (the baselines). */
typedef enum {
    SIREN_ACT_SINE = 0,
    SIREN_ACT_RELU = 1,
    SIREN_ACT_TANH = 2
} siren_activation;

/* "sine", "relu", "tanh"; NULL for an unknown value. */
const char *siren_activation_name(siren_activation act);
/* The activation named `name`; -1 when unknown. */
int siren_activation_parse(const char *name);

/* An input encoding in front of the MLP, for the baselines. Both are a
 * fixed (never trained) sine layer of omega_0 1, so exact derivatives come
 * from the same jets as a SIREN's:
 *   PE  (NeRF positional encoding): sin(2^k pi x_j) and cos(2^k pi x_j),
 *       k < L (encoding_features), j < d: 2 L d features, ordered
 *       [sin for (k, j) k-major ..., then cos in the same order];
 *   FFN (Gaussian random Fourier features, Tancik et al. 2020): sin(2 pi B x)
 *       then cos(2 pi B x), B (m, d) ~ N(0, ff_scale^2), m =
 *       encoding_features: 2 m features.
 * The encoding is linear layer 0 of the model file (its weights 2^k pi or
 * 2 pi B, biases 0 or pi/2), so a PyTorch loader needs no special case. */
typedef enum {
    SIREN_ENC_NONE = 0,
    SIREN_ENC_PE = 1,
    SIREN_ENC_FFN = 2
} siren_encoding;

/* Weight initialisations; biases always PyTorch's nn.Linear default
 * U(-1/sqrt(in), 1/sqrt(in)).
 *   SIREN           first layer U(-1/in, 1/in), later ones
 *                   U(-sqrt(6/in)/omega_hidden, sqrt(6/in)/omega_hidden)
 *   XAVIER_UNIFORM  U(-sqrt(6/(in+out)), +)     XAVIER_NORMAL  N(0, 2/(in+out))
 *   KAIMING_UNIFORM U(-sqrt(6/in), +)           KAIMING_NORMAL N(0, 2/in)
 *                   (fan_in, ReLU gain: the official ReLU baseline's)
 *   NORMAL          N(0, init_std^2) */
typedef enum {
    SIREN_INIT_SIREN = 0,
    SIREN_INIT_XAVIER_UNIFORM = 1,
    SIREN_INIT_XAVIER_NORMAL = 2,
    SIREN_INIT_KAIMING_UNIFORM = 3,
    SIREN_INIT_KAIMING_NORMAL = 4,
    SIREN_INIT_NORMAL = 5,
    /* First layer only (TUNER, Novello et al.): rows 2 pi / p k for integer
     * vectors k, so the network is p-periodic in every input: every k with
     * |k|_inf <= K (one of each +-k pair; K as large as fits half the
     * width), the other rows drawn uniformly among the integer vectors
     * with K < |k|_inf <= tuner_bandlimit; phases U(-pi, pi) in the
     * biases. Divided by first_omega_0, so the sine layer's
     * sin(omega_0 (W x + b)) is sin(2 pi k.x / p + phase). */
    SIREN_INIT_TUNER = 6
} siren_init;

/* "siren", "xavier-uniform", ..., "normal"; NULL for an unknown value. */
const char *siren_init_name(siren_init init);
/* The initialisation named `name`; -1 when unknown. */
int siren_init_parse(const char *name);

typedef struct {
    int in_features;      /* d: 2 for images */
    int out_features;     /* m: 1 gray, 3 RGB */
    int hidden_features;  /* width of every hidden layer */
    int hidden_layers;    /* hidden-to-hidden layers (official: 3) */
    float first_omega_0;  /* omega_0 of the first sine layer */
    float hidden_omega_0; /* omega_0 of the other sine layers */
    siren_activation activation;
    /* Baselines and ablations (siren_config_default: none, SIREN init). */
    siren_encoding encoding;
    int encoding_features; /* PE: L (0: 4 for d <= 2, else 10); FFN: m (0: 256) */
    float ff_scale;        /* FFN: the standard deviation of B (default 10) */
    siren_init init_first, init_hidden; /* the first MLP layer; the others */
    float init_std;        /* SIREN_INIT_NORMAL's standard deviation (1) */
    /* SIREN_INIT_TUNER: the period p (0: 2, the [-1, 1] box) and the band
     * limit B, the largest integer frequency per axis (0: 16). The image
     * fit sets them from the image when 0: p = 2 n / (n - 1) (the n
     * pixels are one period, as the DFT sees them) and B = n / 4, half the
     * Nyquist frequency, n the longer side: the hidden layers' sums of two
     * first-layer frequencies then reach Nyquist, and far less energy lands
     * above it than with B = n / 2 (README, "Frequency control"). */
    float tuner_period;
    int tuner_bandlimit;
    /* Nonzero: training leaves the first layer as initialised (an
     * encoding is always left so). */
    int freeze_first;
} siren_config;

/* The official image recipe: 256 wide, 3 hidden layers, omega_0 30. */
siren_config siren_config_default(int in_features, int out_features);

/* Set cfg's activation, encoding and initialisations to a named
 * architecture: "siren"; "relu" (Kaiming-normal, as the seeds' ReLU
 * baseline); "relu-pe" (ReLU after the positional encoding); "tanh"
 * (Xavier-normal); "ffn" (ReLU after Gaussian Fourier features). Width,
 * depth and omega_0 are kept. SIREN_EINVAL for an unknown name. */
siren_status siren_config_arch(siren_config *cfg, const char *arch);
/* The architecture's name as above, from activation and encoding
 * ("sine+pe" and the like for combinations without a name). The string is
 * static or in `buf` (32 bytes). */
const char *siren_config_arch_name(const siren_config *cfg, char buf[32]);

typedef struct siren_net siren_net;

/* A network with the official SIREN initialisation drawn from `seed`. */
siren_status siren_net_create(const siren_config *cfg, uint64_t seed,
                              siren_net **net);
void siren_net_free(siren_net *net);
const siren_config *siren_net_config(const siren_net *net);
/* All parameters in one block: for each linear layer, weight [out][in]
 * row-major then bias [out]. */
size_t siren_net_param_count(const siren_net *net);
float *siren_net_params(siren_net *net);

/* String metadata stored in the model file (task, image size, ...). */
siren_status siren_net_set_meta(siren_net *net, const char *key,
                                const char *value);
const char *siren_net_get_meta(const siren_net *net, const char *key);
int siren_net_meta_count(const siren_net *net);
void siren_net_meta_at(const siren_net *net, int i, const char **key,
                       const char **value);

/* Pruning: a copy of net with `width` units in every hidden layer, in each
 * the units whose outgoing weights have the largest L2 norms (ties: the
 * lower index), kept in their order. Removing a unit is the same as
 * zeroing its outgoing weights, so the copy computes what net computes
 * with those columns zeroed. Metadata is copied; networks with an input
 * encoding are refused. */
siren_status siren_net_prune(const siren_net *net, int width, siren_net **out);

/* safetensors with PyTorch state_dict names (net.0.linear.weight, ...),
 * written atomically; load checks every shape against the metadata. */
siren_status siren_net_save(const siren_net *net, const char *path);
siren_status siren_net_load(const char *path, siren_net **net);

/* Values of the network at n points: x is (n, in), y is (n, out).
 * threads <= 0 means all cores. */
siren_status siren_net_eval(const siren_net *net, const float *x, size_t n,
                            float *y, int threads);

/* Exact input derivatives at n points x (n, d), by jets (one pass, no
 * finite differences). Any output may be NULL:
 *   y    (n, m)     values
 *   grad (n, m, d)  dy/dx_j
 *   d2   (n, m, d)  d2y/dx_j2, each axis
 *   lapl (n, m)     the Laplacian, sum_j d2y/dx_j2
 * Derivatives are in the model's coordinate units (per unit of x). */
siren_status siren_net_eval_derivs(const siren_net *net, const float *x,
                                   size_t n, float *y, float *grad, float *d2,
                                   float *lapl, int threads);

/* ---------------------------------------------------------------- training */

typedef struct {
    int step, steps;     /* steps done, steps planned */
    double seconds;      /* since the start of training */
    double loss;         /* loss of the last step */
    double psnr_db;      /* task metric of the last step (NAN if none) */
    /* Set (else NULL) on the call after the divergence guard rolled the
     * run back: one line saying what happened, for the user. */
    const char *warning;
    /* Training loops: the learning rate the last step's update used (its
     * schedule's, siren_lr_at, times the guard's halvings); after a
     * rollback, the rate the next update will use. 0 elsewhere. */
    double lr;
} siren_progress;

/* Return nonzero to stop training early (the result is kept). */
typedef int (*siren_progress_fn)(void *user, const siren_progress *p);

/* Data-parallel training (siren_train_opts: shard_rank, shard_count,
 * reduce): replace grad (n floats; NULL when n is 0) and loss_parts
 * (n_loss doubles) on every shard by their sums over all shards, in place,
 * and return SIREN_OK; the sums must be the same, bit for bit, on every
 * shard (an MPI_Allreduce does this; see the CLI's cli/mpi.c). Any other
 * status stops the fit with that status. */
typedef siren_status (*siren_reduce_fn)(void *user, float *grad, size_t n,
                                        double *loss_parts, int n_loss);

/* Learning-rate schedules (siren_train_opts.lr_schedule, siren_lr_at). */
typedef enum {
    SIREN_LR_CONSTANT = 0, /* lr throughout (the default) */
    SIREN_LR_COSINE,       /* half a cosine from lr down to lr_final */
    SIREN_LR_EXP           /* geometric from lr down (or up) to lr_final */
} siren_lr_schedule;

/* Arithmetic of training's matrix products (siren_train_opts.precision). */
typedef enum {
    SIREN_PRECISION_FP32 = 0,
    SIREN_PRECISION_BF16 = 1
} siren_precision;
/* Nonzero when this CPU runs `p` (fp32 always; bf16 with AVX512_BF16). */
int siren_precision_supported(siren_precision p);

typedef struct {
    int steps;            /* Adam steps (default 500) */
    float lr;             /* learning rate (default 1e-4) */
    /* The rate of each step, a function of the step alone (so a resumed
     * run uses the same rates as an uninterrupted one): with warmup > 0
     * the first `warmup` steps rise linearly, step s (from 0) at
     * lr (s + 1) / warmup; then, with p = (s - warmup) / (steps - warmup)
     * going from 0 towards 1 over the remaining steps, constant: lr;
     * cosine: lr_final + (lr - lr_final) (1 + cos(pi p)) / 2; exp:
     * lr (lr_final / lr)^p. lr_final 0 means lr / 100; it is unused by
     * the constant schedule. siren_lr_at gives the rate of a step. The
     * divergence guard's halvings multiply whatever the schedule gives. */
    siren_lr_schedule lr_schedule;
    float lr_final;
    int warmup;
    float beta1, beta2, eps; /* Adam (0.9, 0.999, 1e-8) */
    size_t batch;         /* points per step, 0 = all (full batch) */
    uint64_t seed;        /* initialisation and sampling */
    int threads;          /* <= 0: all cores */
    /* Arithmetic of the big matrix products during the steps:
     * SIREN_PRECISION_FP32 (the default) or SIREN_PRECISION_BF16, their
     * operands rounded to bf16 (8 significant bits) and the products
     * summed in fp32, at twice the FMA rate, on CPUs with AVX512_BF16 (a
     * fit asking for it elsewhere fails with SIREN_EINVAL). Parameters,
     * Adam, activations and the final metric stay fp32. Process-wide while
     * the fit runs: the GEMM kernels are shared by every thread. */
    siren_precision precision;
    double target_psnr;   /* stop once the task's PSNR reaches it; 0 = off */
    siren_progress_fn progress; /* called after every step, may be NULL */
    void *user;
    /* Checkpoints: with `checkpoint` set, the whole training state
     * (parameters, Adam, step, sampler RNG) is written there atomically
     * every `checkpoint_every` steps (0: only at the end) and when the
     * progress callback stops the run. `resume` continues from such a file;
     * with the same input, options, seed and threads the result is bit for
     * bit that of an uninterrupted run. */
    const char *checkpoint;
    int checkpoint_every;
    const char *resume;
    /* Divergence guard: a step whose loss is not finite or exceeds
     * `jump_factor` (default 100; 0 = no jump test) times the last
     * accepted step's, or whose update leaves a parameter non-finite, is
     * undone: parameters and Adam go back to the last good state and the
     * learning rate is halved, with a warning through the progress
     * callback. After `max_retries` (default 5) such rollbacks the fit
     * fails with SIREN_EDIVERGED, and the model it returns (the fit
     * functions set *net in that case only) holds the last good state. */
    double jump_factor;
    int max_retries;
    /* Hidden-weight regularisers, applied after every Adam step to the
     * hidden-to-hidden weight matrices (not the first or last layer, not
     * biases): l1 > 0 shrinks each weight towards 0 by lr * l1 (the
     * proximal step of l1 * sum |W|, so weights that the loss does not
     * hold up reach exactly 0; the reported loss leaves the penalty out);
     * bound_hidden > 0 then clips each to [-bound_hidden, bound_hidden]
     * (TUNER's bound, which keeps the amplitudes of the frequencies the
     * hidden layers generate decaying). 0: off (the default).
     * l1_units > 0: group sparsity on units, for pruning (siren_net_prune
     * ranks a hidden unit by its outgoing weights' norm): after every step
     * each hidden unit's outgoing column (in every layer that reads a
     * hidden layer, the last one included) is scaled by
     * max(0, 1 - lr * l1_units / ||column||), the proximal step of
     * l1_units * sum over units of ||column||_2, so units the loss does not
     * need reach exactly 0 as a whole and pruning them changes nothing. */
    float l1, bound_hidden, l1_units;
    /* Data parallelism, for one signal spread over several processes (or
     * machines) without the library knowing how they talk: shard_count
     * processes run the same fit on the same signal with the same options
     * and seed, each with its own shard_rank in [0, shard_count). Every
     * shard draws the same batch from the same RNG (so the sampler state
     * and checkpoints are the same everywhere), computes the loss and
     * gradient of its own contiguous slice of the batch only (full batch:
     * of all points), scaled by the whole batch's size, and calls
     * reduce(reduce_user, ...) to sum the gradients and loss parts over the
     * shards; then every shard applies the same Adam step, and the
     * divergence guard sees the global loss. The parameters are the same on
     * every shard after each step, and with the same seed they match a
     * single process's up to the order of floating-point sums. Checkpoints
     * are written by shard 0 only. A stop asked by the progress callback on
     * any shard is summed through the next step's reduce, so all shards stop
     * after the same step (one step later than without shards; target_psnr
     * stops at once: it sees the global loss). Each batch must hold at least
     * shard_count points. Implemented by the value fits (image, audio,
     * video, occupancy), the derivative fits (grad, lapl, compose) and sdf.
     * shard_count 0 or 1 with reduce NULL: a plain fit; with reduce set
     * and shard_count 1, reduce is still called (it must then leave its
     * arguments as they are for the result to be a plain fit's). */
    int shard_rank, shard_count;
    siren_reduce_fn reduce;
    void *reduce_user;
    /* Image fits of a periodic (TUNER) model only: band_penalty > 0 adds
     * band_penalty x the mean square of the model's part above the fitted
     * image's Nyquist band (|k_row|, |k_col| <= half the longer side, in
     * cycles per period) to the MSE, estimated every step along
     * band_lines rows and as many columns drawn at random over one
     * period, each sampled at 8x the fitted side; the frequencies the
     * pixels cannot constrain are then kept out of the model instead of
     * filling the space between the pixels (siren spectrum shows them).
     * Full batch, no shards, images up to 1024 pixels a side. 0: off (the
     * default); band_lines default 16. */
    double band_penalty;
    int band_lines;
    /* TUNER's add-prune schedule (a --init-first tuner first layer, no
     * encoding): every add_prune_every accepted steps over the first three
     * quarters of the run, the round(add_prune_frac x width) first-layer
     * units outside the low box whose outgoing weights have the smallest
     * norms get new integer frequencies drawn from the band as the init
     * draws them, with zero outgoing weights (the output loses only what
     * those weakest units gave it) and the loss decides what they become.
     * Measured, it does not pay on camera (README); 0: off (the default). */
    int add_prune_every;
    float add_prune_frac;
} siren_train_opts;

siren_train_opts siren_train_opts_default(void);
/* The scheduled learning rate of step `step` (0 .. opt->steps - 1) under
 * opt's lr, lr_schedule, lr_final, warmup and steps, before any halving by
 * the divergence guard. */
float siren_lr_at(const siren_train_opts *opt, int step);

typedef struct {
    int steps;            /* steps actually done */
    double seconds;       /* training time */
    double step_ms_median; /* median wall time of one step, the first 5
                              left out when there are more than 10 */
    double loss;          /* final loss */
    double psnr_db;       /* final task metric, on the [-1, 1] range */
    double accuracy;      /* occupancy: fraction of labels right; else NAN */
} siren_fit_result;

/* Fit an image: (row, col) in [-1, 1]^2 -> values in [-1, 1], MSE, Adam.
 * cfg's in/out features are set from the image. The model's metadata
 * records the task and the image size. */
siren_status siren_fit_image(const siren_image *img, const siren_config *cfg,
                             const siren_train_opts *opt, siren_net **net,
                             siren_fit_result *res);

/* Continue training an image model (e.g. after siren_net_prune) on img,
 * which must have the channels it was fitted with; same loss and result
 * as siren_fit_image. The image size may differ from the fitted one (the
 * metadata is updated). */
siren_status siren_refit_image(siren_net *net, const siren_image *img,
                               const siren_train_opts *opt, siren_fit_result *res);

/* Inpainting (the official train_img_inpainting.py): fit an image from a
 * subset of its pixels, optionally with a prior on the network's input
 * derivatives at random points, and let the network fill in the rest.
 * Kept: round(keep_frac * pixels) pixels (at least 1) drawn without
 * replacement from the fit's seed (opt->seed; a stream of its own, so the
 * same pixels whatever the prior), or with a mask (the image's size) the
 * pixels whose mean over the mask's channels is >= 0.5 (white). Loss, as
 * the official loss_functions.py (src/train/train.h gives the formulas):
 * the kept pixels' squared errors summed over the count of all pixels and
 * outputs (image_mse with a mask: keep_frac x the MSE on the kept pixels),
 * plus prior_weight (k1, official 1) times
 *   TV:      the mean |dPhi/dx_j| over points, outputs and axes;
 *   HESSIAN: the mean Frobenius norm of the Hessian of Phi (all outputs);
 * at prior_points points drawn uniformly in [-1, 1]^2 every step (0: half
 * the pixels, as the official code). The official recipe: keep 10%,
 * k1 = 1, Adam 1e-4, full batch, 10000 steps. The model is an ordinary
 * image model (task "image"; render and eval work as for siren_fit_image)
 * whose metadata also records keep_frac, kept, prior, prior_weight and
 * prior_points. res->psnr_db is over ALL pixels of img (the honest
 * number: the unkept ones were never seen), ir->psnr_kept_db over the
 * kept ones; both after the last step, on the [-1, 1] range. */
typedef enum {
    SIREN_INPAINT_PRIOR_NONE = 0,
    SIREN_INPAINT_PRIOR_TV = 1,     /* official "TV" */
    SIREN_INPAINT_PRIOR_HESSIAN = 2 /* official "FH" */
} siren_inpaint_prior;

/* "none", "tv", "hessian"; NULL for an unknown value. */
const char *siren_inpaint_prior_name(siren_inpaint_prior prior);
/* The prior named `name`; -1 when unknown. */
int siren_inpaint_prior_parse(const char *name);

typedef struct {
    double keep_frac;          /* in (0, 1]; ignored with a mask (0.1) */
    const siren_image *mask;   /* NULL: random pixels */
    siren_inpaint_prior prior; /* (none) */
    double prior_weight;       /* k1 (1) */
    size_t prior_points;       /* per step; 0: half the pixels (0) */
} siren_inpaint_opts;

siren_inpaint_opts siren_inpaint_opts_default(void);

typedef struct {
    size_t kept, pixels;      /* pixels kept, of all */
    double psnr_kept_db;      /* over the kept pixels */
    size_t prior_points;      /* per step (0 without a prior) */
    double data_loss, prior_loss; /* the last step's terms */
} siren_inpaint_result;

/* Which pixels a fit with these options keeps: keep (height * width) set
 * to 1 for kept pixels, 0 for the others; *kept their count (may be
 * NULL). SIREN_EINVAL for a keep_frac outside (0, 1], a mask of another
 * size or one that keeps nothing. */
siren_status siren_inpaint_keep(const siren_image *img, const siren_inpaint_opts *io,
                                uint64_t seed, unsigned char *keep, size_t *kept);
siren_status siren_fit_image_inpaint(const siren_image *img,
                                     const siren_inpaint_opts *io,
                                     const siren_config *cfg,
                                     const siren_train_opts *opt, siren_net **net,
                                     siren_fit_result *res, siren_inpaint_result *ir);

/* Poisson image reconstruction: fit a gray image (RGB is converted to luma)
 * through its derivatives only, never its values — grad: Sobel gradients,
 * lapl: the 5-point Laplacian, both scaled as the official SIREN code for
 * square images (10x Sobel, 1e4x Laplacian on the [-1, 1] image; the
 * README gives the exact definitions). Afterwards the part the derivatives
 * cannot see (a constant; for lapl an affine plane) is fitted to the image
 * and stored in the model, and res->psnr_db is the PSNR of that
 * reconstruction on the [-1, 1] range. */
siren_status siren_fit_grad(const siren_image *img, const siren_config *cfg,
                            const siren_train_opts *opt, siren_net **net,
                            siren_fit_result *res);
siren_status siren_fit_lapl(const siren_image *img, const siren_config *cfg,
                            const siren_train_opts *opt, siren_net **net,
                            siren_fit_result *res);
/* Poisson image editing: one model whose gradients are A's and B's blended
 * (same size). With a mask (white = B, values in between mix), t = m tB +
 * (1 - m) tA; without, each pixel takes the stronger of the two gradients
 * (mixed gradients). res->psnr_db is NAN: there is no original. */
siren_status siren_fit_compose(const siren_image *a, const siren_image *b,
                               const siren_image *mask, const siren_config *cfg,
                               const siren_train_opts *opt, siren_net **net,
                               siren_fit_result *res);

/* A grad/lapl/compose model against a reference image (rendered at its
 * size): psnr_db and ssim of the reconstruction after removing the null
 * space by least squares (constant, or plane for lapl); grad_psnr_db and
 * lapl_psnr_db of the model's exact derivatives against the targets made
 * from the reference as the fit makes them, with peak = the target's
 * max - min. */
typedef struct {
    double psnr_db, ssim, grad_psnr_db, lapl_psnr_db;
} siren_poisson_eval;
siren_status siren_eval_poisson(const siren_net *net, const siren_image *ref,
                                int threads, siren_poisson_eval *ev);

/* 3-D shapes. The input is normalised as the official code does (centred
 * on its mean, then the largest coordinate range over all axes mapped onto
 * [-1, 1], keeping the aspect ratio); the transform is stored in the model
 * (shape_center_x/y/z, shape_scale: x_model = (x - center) * scale), so
 * meshes and evaluations come out in the input's frame and units.
 *
 * Signed distance: from a point cloud with normals (used as they are), a
 * point cloud without (normals estimated: PCA of the `normal_k` nearest
 * neighbours, oriented consistently over their graph), or a mesh (`points`
 * oriented points sampled by area, with the faces' normals). Official loss
 * and sampling: siren_train_sdf in src/train/train.h; opt->batch is the
 * on-surface points per step (as many off-surface points are added). */
typedef struct {
    size_t points;   /* points sampled from a mesh (default 100000) */
    int normal_k;    /* neighbours for estimated normals (default 16) */
} siren_shape_opts;

siren_shape_opts siren_shape_opts_default(void);

siren_status siren_fit_sdf(const siren_mesh *shape, const siren_shape_opts *so,
                           const siren_config *cfg, const siren_train_opts *opt,
                           siren_net **net, siren_fit_result *res);
/* Occupancy (an occupancy network fitted to one shape): a closed mesh gives
 * inside/outside labels at so->points points, half uniform in the cube,
 * half near the surface (surface samples moved by a Gaussian of 1% of the
 * cube's side); the network's output is a logit, trained by binary
 * cross-entropy in minibatches of opt->batch (0: all). res->accuracy is the
 * fraction of those labels the model gets right (logit > 0 inside). */
siren_status siren_fit_occupancy(const siren_mesh *mesh,
                                 const siren_shape_opts *so,
                                 const siren_config *cfg,
                                 const siren_train_opts *opt, siren_net **net,
                                 siren_fit_result *res);

/* Called after each slice of a long computation; nonzero cancels it. */
typedef int (*siren_slice_fn)(void *user, int done, int total);

/* Marching cubes of an sdf or occupancy model over [-1, 1]^3 at res^3 grid
 * points, evaluated slice by slice (memory: two slices of values and the
 * mesh), at `level` (an SDF value; for occupancy a probability, 0.5 when
 * level is NAN; NAN means 0 for sdf). One more layer of grid points around
 * the cube counts as outside, so a surface reaching the cube's faces is
 * closed there: the mesh is always closed. Vertices in the input's frame,
 * each with the unit normal of the exact gradient of the model. An sdf
 * model's slices are evaluated coarse to fine (only near the level set,
 * trusting the distance to bound where the surface can be; several times
 * faster); dense != 0 evaluates every grid point. */
siren_status siren_mesh_extract(const siren_net *net, int res, float level,
                                int threads, int dense, siren_slice_fn progress,
                                void *user, siren_mesh *out);

/* A shape model against a reference shape (points with or without normals,
 * or a mesh), in the reference's units: the model is meshed at `res`, both
 * surfaces are sampled (`samples` points by area; a point cloud's own
 * points are used as they are), and nearest neighbours found with a k-d
 * tree. chamfer is 0.5 (mean_a d(a, B) + mean_b d(b, A)) with Euclidean
 * distances; normal_consistency the mean |n_a . n_b| of nearest pairs both
 * ways (NAN without reference normals); fscore the harmonic mean of the
 * fractions of each set within tau of the other (tau <= 0: 1% of the
 * reference's bounding-box diagonal). */
typedef struct {
    double chamfer, chamfer_rel; /* chamfer_rel: over the bounding-box diagonal */
    double normal_consistency;
    double fscore, precision, recall, tau;
    double diagonal;             /* the reference's bounding-box diagonal */
    size_t mesh_vertices, mesh_faces;
} siren_shape_eval;
siren_status siren_eval_shape(const siren_net *net, const siren_mesh *ref,
                              int res, size_t samples, double tau, int threads,
                              siren_shape_eval *ev);

/* Audio: t = linspace(-1, 1, frames) -> samples divided by the signal's
 * largest magnitude (the official code's scaling; the scale is stored in
 * the model), one output per channel, or the channels' mean with mix. The
 * default first-layer omega_0 for audio is 3000 (the caller's cfg decides).
 * res->psnr_db is 10 log10(4 / MSE) on that [-1, 1] scale. */
siren_status siren_fit_audio(const siren_audio *audio, int mix,
                             const siren_config *cfg, const siren_train_opts *opt,
                             siren_net **net, siren_fit_result *res);
/* An audio model rendered at `rate` Hz (0: the fitted rate) over the
 * fitted duration, in the input's scale. out is allocated here. */
siren_status siren_render_audio(const siren_net *net, int rate, int threads,
                                siren_audio *out);
/* An audio model against a reference (same channel count after mixing as
 * the fit did), both scaled by the reference's largest magnitude: PSNR
 * 10 log10(4 / MSE) and SNR 10 log10(sum ref^2 / sum (ref - model)^2), in
 * dB. The model is evaluated at the reference's sample times. */
siren_status siren_eval_audio(const siren_net *net, const siren_audio *ref,
                              int threads, double *psnr_db, double *snr_db);

/* Video: (t, row, col), each linspace(-1, 1) over frames, rows and columns,
 * -> values mapped from [0, 1] to [-1, 1], one output per channel, MSE.
 * Each step draws `sample_frac` of all voxels uniformly with replacement,
 * as the official train_video.py (0.0038 there); opt->batch, when set,
 * gives the count instead; sample_frac >= 1 with no batch is full batch.
 * The model's metadata keeps frames, height, width and channels.
 * res->psnr_db is over every voxel after the last step. */
siren_status siren_fit_video(const siren_video *video, double sample_frac,
                             const siren_config *cfg, const siren_train_opts *opt,
                             siren_net **net, siren_fit_result *res);
/* One frame of a video model at any size and frame count: frame `index` of
 * `frames` evenly spaced over the fitted duration (frames 2F - 1 doubles
 * the frame rate of an F-frame fit and keeps its frames as the even ones).
 * Values back in [0, 1], clamped. dst is allocated here. */
siren_status siren_render_video_frame(const siren_net *net, int index, int frames,
                                      int width, int height, int threads,
                                      siren_image *dst);
/* A video model against reference frames of the fitted size and count, on
 * the [-1, 1] range with the model's output clamped as a render's: the
 * PSNR of every frame (psnr_per_frame, ref->frames entries), their mean,
 * and the PSNR over all voxels at once. */
siren_status siren_eval_video(const siren_net *net, const siren_video *ref,
                              int threads, double *psnr_per_frame,
                              double *psnr_mean_db, double *psnr_all_db);

/* Render an image-task model at any size (values mapped back to [0, 1],
 * clamped). dst is allocated here. */
siren_status siren_render_image(const siren_net *net, int width, int height,
                                int threads, siren_image *dst);
/* The raw network output on the width x height grid, (height, width, out),
 * unclamped, in the network's [-1, 1] convention. */
siren_status siren_render_values(const siren_net *net, int width, int height,
                                 int threads, float *out);

/* Values and exact derivatives on the width x height grid, in the
 * network's own units (derivatives per unit of the [-1, 1] coordinates);
 * any output may be NULL: value (height, width, m), grad (height, width,
 * m, 2) with axis 0 = d/drow and 1 = d/dcol, lapl (height, width, m). */
siren_status siren_render_derivs(const siren_net *net, int width, int height,
                                 int threads, float *value, float *grad,
                                 float *lapl);

/* -------------------------------------------------------------------- PDEs */

/* Solving a PDE with a SIREN, trained through its derivatives only against
 * the equation's residual at random collocation points (the official
 * train_helmholtz.py and train_wave_equation.py, losses helmholtz_pml and
 * wave_pml). Coordinates: (row, col) in [-1, 1]^2, linspace grids as the
 * rest of the library; time t raw, in [0, t_max].
 *
 * Helmholtz: u complex, the network's two outputs (Re u, Im u):
 *     d_r((e_c/e_r) d_r u) + d_c((e_r/e_c) d_c u) + e_r e_c k^2 u = f
 * with the official perfectly matched layer e_x = 1 - i a0 (d_x / L)^2,
 * d_x the distance into the layer of width L at the edges, and the source
 * f = (1 + 1i) g, g the unit-mass Gaussian of variance 1e-4 around the
 * source, set to 0 below 1e-5. Loss: the official one divided by its
 * batch N0 = 230^2, sum over points of w |r| where g = 0 and w (N0/1e3)
 * |r - f| where g != 0, |z| = |Re z| + |Im z| (official torch.abs on the
 * two channels). Points: uniform in the square, and src_samples uniform in
 * the disk of radius 0.05 around the source (official 100 of N0); the
 * weight w of a point is its group's official share over its count
 * ((N0 - 100)/N0 over the uniform points, 100/N0 over the disk's), 1/N0
 * each at the official counts, so any batch and src_samples estimate the
 * same loss.
 *
 * Wave: u real, inputs (t, row, col): u_tt = c^2 (u_rr + u_cc), u(0) =
 * exp(-|x - x0|^2 / (2 * 5e-4)) / 50 (set to 0 below 1e-5), u_t(0) = 0.
 * Loss, weighted likewise with N0 = 340^2: sum w |u_tt - c^2 lap u| over
 * all points plus, at t = 0, w (N0/10) |u - u0| + w (N0/100) |u_t|
 * (official diff_constraint_hom, dirichlet, neumann). Points: t uniform in
 * [0, W], W growing from 0 to t_max over the first `ramp` of the steps
 * (official: the whole run), space uniform; and at t = 0, src_samples
 * uniform in space and src_samples in the disk of radius 0.25 around the
 * source (official 1000 each of N0).
 *
 * opt->batch is N (0: the official N0). The training is that of the other
 * fits: Adam, the divergence guard, progress, checkpoints (opt). */
typedef struct {
    double k;                 /* Helmholtz wavenumber (official 20) */
    double src_row, src_col;  /* source / initial pulse centre ((0, 0)) */
    double pml_width, pml_a0; /* Helmholtz layer: width L (0.5), a0 (5) */
    double c;                 /* wave speed (1) */
    double t_max;             /* wave: the time span (official 0.4) */
    double ramp;              /* wave: fraction of the steps over which the
                                 time window grows to t_max (official 1;
                                 0: t_max from the start) */
    size_t src_samples;       /* points per step near the source (wave: as
                                 many again at t = 0); 0: the official
                                 fraction of the batch, at least 1. The
                                 loss's weights keep the groups' official
                                 shares whatever the count */
    double k_ramp;            /* Helmholtz: a curriculum on the wavenumber,
                                 which rises linearly from 0 to k over the
                                 first k_ramp of the steps (0: k throughout,
                                 as the official; the loss is the official
                                 one from then on) */
    double phase_eps;         /* Helmholtz: > 0: the network's outputs are
                                 the envelope v of u = v exp(-i k rho),
                                 rho = sqrt(|x - x0|^2 + phase_eps^2), the
                                 outgoing wave's phase factored out (the
                                 loss is still the residual of u; the
                                 model records it, and the render
                                 multiplies it back); 0: the outputs are
                                 u, as the official */
    double causal;            /* wave: causal weighting in time (Wang,
                                 Sankaran, Perdikaris 2022) with this eps:
                                 [0, t_max] in SIREN_PDE_CAUSAL_BINS bins,
                                 each point's residual term times
                                 w_i = exp(-eps sum_{k<i} L_k), L_k the mean
                                 |residual| in bin k at the previous step
                                 (all 1 at a run's first step, also after a
                                 resume, which is then not bit for bit);
                                 the initial conditions unweighted. 0: off,
                                 the official loss */
    double energy;            /* wave: > 0: this weight W on an energy
                                 term added to the objective,
                                 W mean_j (|E_in(t_j) - E0| + E_out(t_j))
                                 / E0 over SIREN_PDE_ENERGY_SLICES times
                                 t_j per step, stratified over the current
                                 time window: E = the integral of
                                 u_t^2 + c^2 |grad u|^2 (conserved; E0 =
                                 pi c^2 (peak of u0)^2 exactly) inside the
                                 disc |x - x0| <= c t + 0.1 that holds the
                                 true solution, and outside it, where the
                                 true one has none. Needs the disc inside
                                 the square: c t_max + 0.1 + max |x0| <= 1
                                 (0.1 and the band scale with pulse_var's
                                 standard deviation). 0: off, the official
                                 loss */
    double pulse_var;         /* wave: the variance v of the initial pulse
                                 u0 = exp(-|x - x0|^2 / (2 v)) / 50
                                 (official 5e-4; 0 means that too, for a
                                 struct not from siren_pde_opts_default;
                                 else 1e-5..0.1). The peak 1/50 stays, and
                                 so E0 (pi c^2 / 50^2 for any v); the t = 0
                                 disk's radius 0.25 and the energy disc's
                                 0.1 and band 0.08 scale with the standard
                                 deviation, sqrt(v / 5e-4) (the disk capped
                                 at 1); the reference uses v. The model
                                 records it (pde_pulse_variance) */
} siren_pde_opts;

/* The time bins of siren_pde_opts.causal. */
#define SIREN_PDE_CAUSAL_BINS 32
/* The time slices per step of siren_pde_opts.energy. */
#define SIREN_PDE_ENERGY_SLICES 4

/* The official problems: k 20, source (0, 0), layer 0.5 / 5, c 1,
 * t_max 0.4, ramp 1, pulse variance 5e-4. */
siren_pde_opts siren_pde_opts_default(void);

typedef struct {
    int steps;             /* steps done */
    double seconds;        /* training time */
    double step_ms_median; /* as siren_fit_result's */
    double loss;           /* the last step's loss (its batch, before its
                              update) */
    /* The last step's loss in its weighted parts. Helmholtz: residual off
     * the source, |r - f| on it, 0. Wave: residual, initial value,
     * initial velocity. */
    double terms[3];
    /* Wave with causal > 0: the last step's objective (its residual term
     * weighted by the bins' w_i; loss and terms stay the official loss,
     * which the divergence guard and progress see) and its smallest bin
     * weight (the last bin's). Otherwise loss and 1. */
    double causal_loss;
    double causal_min_weight;
    /* Wave with energy > 0: the last step's energy term (mean over its
     * slices of (|E_in - E0| + E_out) / E0, before the weight; loss
     * and terms stay the official loss) and the slices' mean E_in / E0 and
     * E_out / E0. Otherwise 0, 0, 0. */
    double energy_term;
    double energy_in;
    double energy_out;
} siren_pde_result;

/* Fit a network (cfg's in/out features are set: 2 -> 2 for Helmholtz,
 * 3 -> 1 for the wave) to the problem of `po`. The model's metadata
 * records the problem (task "helmholtz" or "wave", k, source, layer, c,
 * t_max). SIREN_EDIVERGED as the other fits (then *net is the last good
 * state). */
siren_status siren_solve_helmholtz(const siren_pde_opts *po,
                                   const siren_config *cfg,
                                   const siren_train_opts *opt, siren_net **net,
                                   siren_pde_result *res);
siren_status siren_solve_wave(const siren_pde_opts *po, const siren_config *cfg,
                              const siren_train_opts *opt, siren_net **net,
                              siren_pde_result *res);

/* A Helmholtz model on the n x n grid: field (n, n, 2) = (Re u, Im u). */
siren_status siren_render_helmholtz(const siren_net *net, int n, int threads,
                                    float *field);
/* A wave model at nt times on the n x n grid: u (nt, n, n). */
siren_status siren_render_wave(const siren_net *net, int n, const double *times,
                               int nt, int threads, float *u);

/* The finite-difference references of the same problems (po), on the same
 * n x n grid, independent of any network (the project's solvers: Helmholtz
 * with the same layer by preconditioned BiCGSTAB, second order; the wave
 * by leapfrog on a refined grid, in free space). field (n, n, 2) double;
 * u (nt, n, n) double at times (non-decreasing, >= 0). */
siren_status siren_reference_helmholtz(const siren_pde_opts *po, int n,
                                       double *field);
siren_status siren_reference_wave(const siren_pde_opts *po, int n,
                                  const double *times, int nt, double *u);

/* Relative L2 error ||net - ref|| / ||ref|| of `frames` fields of (n, n,
 * m) values, over the grid points with max(|row|, |col|) <= box (1: all;
 * 1 - pml_width: outside the layer). NAN when ref is 0 there. */
double siren_pde_rel_l2(int frames, int n, int m, const double *ref,
                        const float *net, double box);

/* ------------------------------------------------------------------ priors */

/* A learned space of SIRENs (the paper's Sec. 4.4, the official
 * train_img_neural_process with NeuralProcessImplicit2DHypernet): a set
 * encoder maps each context pixel (row, col, value...) through an MLP and
 * averages over the context into a latent code z; a hypernetwork (one MLP
 * with ReLUs per parameter tensor, linear last layer) maps z to every
 * weight and bias of a small SIREN, which renders the whole image. New
 * images are then represented from a few pixels, in one forward pass.
 *
 *     siren_image_set train, test;
 *     siren_prior *prior;
 *     siren_prior_config pc = siren_prior_config_default(28, 1);
 *     siren_prior_train_opts po = siren_prior_train_opts_default();
 *     siren_image_set_load("/usr/share/datasets/fashion-mnist", 0, 0, 0, &train);
 *     siren_prior_create(&pc, po.seed, &prior);
 *     siren_prior_train(prior, &train, &po, NULL);
 *     siren_image_set_load("/usr/share/datasets/fashion-mnist", 1, 0, 0, &test);
 *     int ctx[2] = {10, 100};
 *     double psnr[2];
 *     siren_prior_eval(prior, &test, ctx, 2, 0, 1000, 0, psnr);
 *
 * Images are size x size, coordinates linspace(-1, 1) per axis as
 * everywhere in libsiren, values [0, 1] mapped to [-1, 1] for the encoder
 * and the loss. */

/* Equally sized images, (count, height, width, channels) in [0, 1]. */
typedef struct {
    int width, height, channels; /* channels: 1 gray or 3 RGB */
    size_t count;
    float *data;
} siren_image_set;

/* Load a set of images from
 *   - a folder holding Fashion-MNIST or MNIST (train-images-idx3-ubyte or
 *     t10k-images-idx3-ubyte, plain or .gz): the training split
 *     (test_split 0) or the test split (1);
 *   - an IDX file of uint8 images (N, H, W) or (N, H, W, C), C 1 or 3,
 *     plain or .gz (values / 255);
 *   - any other folder: its PNG, JPEG, BMP, PGM and PPM files in name
 *     order, each resampled to size x size (area average when shrinking)
 *     and converted to the first image's channel count (gray to RGB by
 *     copying, RGB to gray by luma 0.299 R + 0.587 G + 0.114 B).
 * size 0 keeps an IDX set's size and means 32 for a folder; an IDX set of
 * another size is resampled. limit > 0 keeps the first `limit` images.
 * Errors name the file and the problem. */
siren_status siren_image_set_load(const char *path, int test_split, int size,
                                  size_t limit, siren_image_set *set);
void siren_image_set_free(siren_image_set *set);

typedef struct {
    int size;             /* images are size x size pixels (28) */
    int channels;         /* 1 gray or 3 RGB */
    /* The generated SIREN: (row, col) -> channels, hidden_layers
     * hidden-to-hidden layers of hidden_features, sine with omega_0 in
     * every layer. The official is 3 of 256; the default 3 of 64 trains on
     * a laptop CPU in minutes. */
    int hidden_features, hidden_layers; /* 64, 3 */
    float omega_0;                      /* 30 */
    int latent;                         /* z's size (256, official) */
    /* Set encoder: 2 + channels -> encoder_hidden, encoder_layers more
     * layers of encoder_hidden, -> latent, every layer activated (official:
     * 256, 2). relu (Kaiming-normal init) or sine (sin(30 x), the official
     * sine_init in every layer). */
    int encoder_hidden, encoder_layers;
    siren_activation encoder_activation; /* SIREN_ACT_RELU (default) or SINE */
    /* Hypernetwork, one MLP per tensor of the SIREN: latent ->
     * hyper_hidden, hyper_layers more of hyper_hidden (ReLU), -> the
     * tensor (linear). Official 256, 1, with its initialisation: Kaiming
     * normal, the last layer's weights / 100 and its biases U(-1/fan_in,
     * 1/fan_in) of the generated layer (weights) or U(-1/hyper_hidden,
     * 1/hyper_hidden) (biases). */
    int hyper_hidden, hyper_layers;
} siren_prior_config;

/* The defaults above for size x size images of `channels` channels. */
siren_prior_config siren_prior_config_default(int size, int channels);

typedef struct siren_prior siren_prior;

/* A prior with the official initialisation drawn from `seed`. */
siren_status siren_prior_create(const siren_prior_config *cfg, uint64_t seed,
                                siren_prior **prior);
void siren_prior_free(siren_prior *prior);
const siren_prior_config *siren_prior_get_config(const siren_prior *prior);
/* The trained parameters (encoder, then each tensor's hypernetwork; each
 * linear layer's weight [out][in] then bias) in one block, and the
 * number of parameters of the SIREN it generates. */
size_t siren_prior_param_count(const siren_prior *prior);
float *siren_prior_params(siren_prior *prior);
size_t siren_prior_siren_param_count(const siren_prior *prior);

/* String metadata stored in the file (what it was trained on, ...). */
siren_status siren_prior_set_meta(siren_prior *prior, const char *key,
                                  const char *value);
const char *siren_prior_get_meta(const siren_prior *prior, const char *key);
int siren_prior_meta_count(const siren_prior *prior);
void siren_prior_meta_at(const siren_prior *prior, int i, const char **key,
                         const char **value);

/* safetensors, written atomically, with the official module's names:
 * set_encoder.net.0.weight/bias, set_encoder.net.{l+1}.0.* (hidden layers
 * l = 1 .. encoder_layers), set_encoder.net.{encoder_layers+2}.*, and
 * hyper_net.nets.{t}.net.{l}.0.weight/bias, t the index of the generated
 * tensor (weight then bias of each SIREN layer); __metadata__ "format":
 * "siren-prior" and the configuration, which load checks against every
 * tensor's shape. */
siren_status siren_prior_save(const siren_prior *prior, const char *path);
siren_status siren_prior_load(const char *path, siren_prior **prior);

typedef struct {
    int epoch, epochs;    /* epochs begun (1-based), planned */
    long step, steps;     /* batches done, planned */
    double seconds;       /* since the start (of this process's run) */
    double loss;          /* the last batch's loss */
    double psnr_db;       /* of its reconstructions, on the [-1, 1] range */
    double images_per_s;  /* images trained per second so far */
} siren_prior_progress;

/* Return nonzero to stop (the prior keeps what it has learned; with a
 * checkpoint path, the state is written first). */
typedef int (*siren_prior_progress_fn)(void *user, const siren_prior_progress *p);

typedef struct {
    int epochs;           /* passes over the set (default 1) */
    int batch;            /* images per step (32; official 100) */
    /* Context pixels per image, drawn uniformly in [context_min,
     * context_max] for each batch, distinct pixels per image (official
     * 10..200). */
    int context_min, context_max;
    float lr;                /* Adam (default 1e-4; official 5e-5) */
    float beta1, beta2, eps; /* 0.9, 0.999, 1e-8 */
    float latent_weight;     /* kl: 0.1, official */
    float weight_weight;     /* fw: 100, official */
    float clip;              /* gradient norm clip (1, official; 0 off) */
    uint64_t seed;           /* shuffling and contexts */
    int threads;             /* <= 0: all cores */
    siren_prior_progress_fn progress; /* after every step, may be NULL */
    void *user;
    /* With `checkpoint`, the whole state (parameters, Adam, step) is
     * written there atomically every checkpoint_every steps (0: after
     * every epoch) and when the callback stops the run; `resume`
     * continues from one (same set, options and seed: the result is that
     * of a run never stopped, as shuffles and contexts derive from the
     * seed and the step). */
    const char *checkpoint;
    int checkpoint_every;
    const char *resume;
} siren_prior_train_opts;

siren_prior_train_opts siren_prior_train_opts_default(void);

typedef struct {
    long steps;           /* steps done in all (a resumed run counts the old) */
    int epochs;           /* epochs completed */
    double seconds;       /* this run's training time */
    double images_per_s;  /* this run's images per second */
    double loss;          /* mean loss over the last epoch's steps */
    double psnr_db;       /* PSNR of their mean squared error ([-1, 1]) */
} siren_prior_train_result;

/* Train on set (its images must be the prior's size and channels) with
 * the official loss: mean over pixels of (SIREN - image)^2 + latent_weight
 * * mean z^2 + weight_weight * mean of the generated parameters^2 (every
 * weight and bias of the batch's SIRENs), Adam, gradients clipped to norm
 * `clip`. A stop by the callback is SIREN_ECANCELED (the prior keeps its
 * state). res may be NULL. */
siren_status siren_prior_train(siren_prior *prior, const siren_image_set *set,
                               const siren_prior_train_opts *opt,
                               siren_prior_train_result *res);

/* n distinct pixels of a width x height grid drawn from seed: mask
 * (height * width bytes) set to 1 there, 0 elsewhere. */
siren_status siren_prior_context(int width, int height, size_t n, uint64_t seed,
                                 uint8_t *mask);
/* The SIREN the prior generates from the pixels of img (the prior's size
 * and channels) where mask (size * size bytes) is nonzero: an image model
 * like siren_fit_image's (render it at any size with siren_render_image,
 * save it with siren_net_save). */
siren_status siren_prior_generate(const siren_prior *prior, const siren_image *img,
                                  const uint8_t *mask, siren_net **net);
/* siren_prior_generate rendered at width x height (0: the prior's size),
 * values clamped to [0, 1]. out is allocated here. */
siren_status siren_prior_complete(const siren_prior *prior, const siren_image *img,
                                  const uint8_t *mask, int width, int height,
                                  int threads, siren_image *out);
/* Mean PSNR (dB, [0, 1] range, reconstructions clamped to it) over the
 * first `count` images of set (0: all) for each of n context sizes
 * context[i]; image i's context of size c is the mask
 * siren_prior_context(size, size, c, siren_prior_context_seed(seed, c, i)). */
siren_status siren_prior_eval(const siren_prior *prior, const siren_image_set *set,
                              const int *context, int n, size_t count, uint64_t seed,
                              int threads, double *psnr_db);
uint64_t siren_prior_context_seed(uint64_t seed, int context, size_t image);

#ifdef __cplusplus
}
#endif
#endif
