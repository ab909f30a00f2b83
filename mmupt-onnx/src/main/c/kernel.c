/*
 * The head, its threads and the GRPO loss around the compute routines of kernel_impl.h.
 *
 * Train mode, per chunk of Tc tokens (Liger-style token chunking: on a CPU it does the minimum 6 T V d
 * FLOPs, where vocabulary blocking with recomputation would do 8):
 *   sweep 1, per vocabulary block:  zT = W hT / tau  (+ s B uT / tau),  online max / sum / entropy stats
 *   merge the statistics of the partitions in order -> lse, logp, entropy -> per-token loss and upstream g
 *   sweep 2, per vocabulary block:  dzT = (g / tau)(onehot - softmax)  in place,  dW += dzT h,  dh += dzT^T W
 * The vocabulary is split into P fixed partitions (P = min(MMUPT_PARTITIONS, blocks): a function of the head's
 * shape only, never of its thread count), each a run of whole blocks. Statistics are kept per partition and
 * merged in partition order; the partitions' dh partials are summed in partition order too (workers take the
 * partitions in waves of one each and fold a wave's partials into dh column slice by column slice), so a
 * call's results are bit-identical on 1, 2 or 64 threads, and score mode and train mode compute
 * bit-identical log-probs.
 */
#define _GNU_SOURCE
#include "mmupt_kernel.h"
#include "kernel_isa.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIGNMENT 64
/* Rows of W per vocabulary block: a block of W and of its gradient should stay in L2 together. */
#define BLOCK_BYTES (192 * 1024)
#define SCORE_TILE 128
#define MAX_THREADS 256
/* Fixed vocabulary partitions: more threads than this find no work. 64 keeps the last wave's imbalance small
 * (at 3 threads 64 of 66 slots are busy) while the per-partition statistics stay a few KB. */
#define MMUPT_PARTITIONS 64
#define PAD16(x) (((x) + 15) & ~15)
/* The stored row stride of the (V, d) and (r, d) tensors and of the scratch rows of hidden states. A stride of
 * an even number of 64-byte lines puts the rows that a tile walks down (dh's strip of W, dW's strip of h) into
 * a fraction of the L1 sets, all of them at d = 2048 (8 KB apart), so they evict each other before their reuse;
 * one more line spreads them over every set. T=512 d=2048 V=32000 train mode on a 2-core Zen 3 (AVX2), three
 * alternating pairs: 2.87 / 2.73 / 2.61 s at stride 2048, 2.43 / 1.85 / 2.14 s at 2064; d=896 unchanged. Below
 * 256 floats the extra line would cost over 6% more memory, and no such shape was measured. */
static int row_stride(int hidden) {
    int p = PAD16(hidden);
    return p >= 256 && (p / 16) % 2 == 0 ? p + 16 : p;
}
/* Below this many multiply-adds a call runs on the caller's thread: starting threads would cost more. */
#define PARALLEL_MIN_WORK (1LL << 22)

struct mmupt_head {
    int vocab, hidden, rank;
    int hidden_pad, rank_pad;       /* row strides of the stored tensors, multiples of 16 (row_stride) */
    float alpha, lora_scale;
    int trainable, threads;
    int block_rows;                 /* rows of a vocabulary block, a multiple of 8 */
    int partitions;                 /* P, fixed by the shape (see the top of this file) */
    const mmupt_isa *isa;
    float *weight;                  /* (V, hidden_pad): W, or the frozen W0 of a LoRA */
    uint16_t *weight_bf16;          /* bf16 paths: (V, hidden_pad), W rounded to bf16, refreshed after every change */
    uint16_t *weight_pairs;         /* bf16 paths: (ceil(V / 2), hidden_pad, 2), W's row pairs interleaved, for dh */
    float *lora_a;                  /* (r, hidden_pad) */
    float *lora_b;                  /* (V, rank_pad) */
    float *grad[2], *adam_m[2], *adam_v[2]; /* per trained tensor: full [W]; LoRA [A, B] */
    long long step;
    size_t last_workspace;
    size_t owned_bytes;             /* what create allocated for the tensors above: mmupt_head_bytes's figure */
};

/* ------------------------------------------------------------------------------------------ errors */

static int set_error(mmupt_error *err, mmupt_status status, long long index, const char *fmt, ...) {
    if (err != NULL) {
        err->status = status;
        err->index = index;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int ok(mmupt_error *err) {
    if (err != NULL) {
        err->status = MMUPT_OK;
        err->index = -1;
        err->message[0] = '\0';
    }
    return MMUPT_OK;
}

/* ------------------------------------------------------------------------------------------ memory */

static void *aligned_zalloc(size_t bytes) {
    if (bytes == 0) {
        bytes = ALIGNMENT;
    }
    size_t rounded = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    void *p = aligned_alloc(ALIGNMENT, rounded);
    if (p != NULL) {
        memset(p, 0, rounded);
    }
    return p;
}

/* A call's scratch memory: one allocation carved into aligned pieces, so its size is its peak. */
typedef struct {
    char *base;
    size_t size, used;
} arena;

static size_t arena_piece(size_t bytes) {
    return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
}

static void *arena_take(arena *a, size_t bytes) {
    void *p = a->base + a->used;
    a->used += arena_piece(bytes);
    return p;
}

/* ------------------------------------------------------------------------------------------ ISA */

#if defined(__x86_64__)
static const mmupt_isa *pick_isa(const char *requested, mmupt_error *err) {
    int has512 = __builtin_cpu_supports("avx512f");
    int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (requested == NULL) {
        return has512 ? &mmupt_isa_avx512 : has2 ? &mmupt_isa_avx2 : &mmupt_isa_generic;
    }
    if (strcmp(requested, "avx512bf16") == 0) {
        if (!has512 || !__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512bw")
                || !__builtin_cpu_supports("avx512vl")) {
            set_error(err, MMUPT_ERR_ARGUMENT, -1, "instruction set avx512bf16 requested but this CPU lacks AVX512-BF16 "
                    "(VDPBF16PS); use avx512 or the default");
            return NULL;
        }
        return &mmupt_isa_avx512bf16;
    }
    if (strcmp(requested, "avx512") == 0) {
        if (!has512) {
            set_error(err, MMUPT_ERR_ARGUMENT, -1, "instruction set avx512 requested but this CPU lacks AVX-512F");
            return NULL;
        }
        return &mmupt_isa_avx512;
    }
    if (strcmp(requested, "avx2") == 0) {
        if (!has2) {
            set_error(err, MMUPT_ERR_ARGUMENT, -1, "instruction set avx2 requested but this CPU lacks AVX2/FMA");
            return NULL;
        }
        return &mmupt_isa_avx2;
    }
    if (strcmp(requested, "generic") == 0) {
        return &mmupt_isa_generic;
    }
    set_error(err, MMUPT_ERR_ARGUMENT, -1, "unknown instruction set '%s' (expected avx512bf16, avx512, avx2 or generic)",
            requested);
    return NULL;
}
#elif defined(__aarch64__)
/* Advanced SIMD (NEON) is mandatory in ARMv8-A: no run-time check is needed. */
static const mmupt_isa *pick_isa(const char *requested, mmupt_error *err) {
    if (requested == NULL || strcmp(requested, "neon") == 0) {
        return &mmupt_isa_neon;
    }
    if (strcmp(requested, "generic") == 0) {
        return &mmupt_isa_generic;
    }
    set_error(err, MMUPT_ERR_ARGUMENT, -1, "instruction set '%s' is not available on AArch64 (expected neon or generic)",
            requested);
    return NULL;
}
#else
static const mmupt_isa *pick_isa(const char *requested, mmupt_error *err) {
    if (requested == NULL || strcmp(requested, "generic") == 0) {
        return &mmupt_isa_generic;
    }
    set_error(err, MMUPT_ERR_ARGUMENT, -1, "instruction set '%s' is not available on this CPU (expected generic)",
            requested);
    return NULL;
}
#endif

/* ------------------------------------------------------------------------------------------ threads */

typedef struct team team;
typedef void (*team_fn)(team *tm, int tid, void *ctx);

struct team {
    int workers;
    pthread_barrier_t barrier;
    pthread_mutex_t gate_lock;
    pthread_cond_t gate;
    int gate_state;                 /* 0 waiting, 1 go, -1 abort */
    team_fn fn;
    void *ctx;
};

typedef struct {
    team *tm;
    int tid;
} team_arg;

static void team_sync(team *tm) {
    if (tm->workers > 1) {
        pthread_barrier_wait(&tm->barrier);
    }
}

static void *team_main(void *p) {
    team_arg *a = p;
    team *tm = a->tm;
    pthread_mutex_lock(&tm->gate_lock);
    while (tm->gate_state == 0) {
        pthread_cond_wait(&tm->gate, &tm->gate_lock);
    }
    int go = tm->gate_state == 1;
    pthread_mutex_unlock(&tm->gate_lock);
    if (go) {
        tm->fn(tm, a->tid, tm->ctx);
    }
    return NULL;
}

/* Runs fn on `workers` threads (the caller is worker 0). Workers start only once all exist, so a failed
 * thread start aborts cleanly instead of leaving others at a barrier. */
static int team_run(int workers, team_fn fn, void *ctx, mmupt_error *err) {
    team tm;
    memset(&tm, 0, sizeof tm);
    tm.workers = workers;
    tm.fn = fn;
    tm.ctx = ctx;
    if (workers <= 1) {
        tm.workers = 1;
        fn(&tm, 0, ctx);
        return MMUPT_OK;
    }
    pthread_t threads[MAX_THREADS];
    team_arg args[MAX_THREADS];
    pthread_barrier_init(&tm.barrier, NULL, (unsigned) workers);
    pthread_mutex_init(&tm.gate_lock, NULL);
    pthread_cond_init(&tm.gate, NULL);
    int started = 0;
    for (int i = 1; i < workers; i++) {
        args[i].tm = &tm;
        args[i].tid = i;
        if (pthread_create(&threads[i - 1], NULL, team_main, &args[i]) != 0) {
            break;
        }
        started++;
    }
    pthread_mutex_lock(&tm.gate_lock);
    tm.gate_state = started == workers - 1 ? 1 : -1;
    pthread_cond_broadcast(&tm.gate);
    pthread_mutex_unlock(&tm.gate_lock);
    if (tm.gate_state == 1) {
        fn(&tm, 0, ctx);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_barrier_destroy(&tm.barrier);
    pthread_mutex_destroy(&tm.gate_lock);
    pthread_cond_destroy(&tm.gate);
    if (started != workers - 1) {
        return set_error(err, MMUPT_ERR_THREAD, -1, "could not start worker thread %d of %d", started + 1, workers);
    }
    return MMUPT_OK;
}

/* Rows [*begin, *end) of vocabulary partition p of P: whole 64-row blocks, split as evenly as possible. */
static void partition_rows(const mmupt_head *h, int partitions, int p, int *begin, int *end) {
    long long rows = h->block_rows;
    long long blocks = (h->vocab + rows - 1) / rows;
    long long b0 = blocks * p / partitions;
    long long b1 = blocks * (p + 1) / partitions;
    *begin = (int) (b0 * rows);
    *end = (int) (b1 * rows < h->vocab ? b1 * rows : h->vocab);
}

static int workers_for(const mmupt_head *h, long long tokens) {
    long long work = tokens * (long long) h->vocab * h->hidden;
    if (work < PARALLEL_MIN_WORK) {
        return 1;
    }
    return h->threads < h->partitions ? h->threads : h->partitions;
}

/* ------------------------------------------------------------------------------------------ lifecycle */

static size_t tensor_rows(const mmupt_head *h, mmupt_tensor t) {
    return t == MMUPT_TENSOR_LORA_A ? (size_t) h->rank : (size_t) h->vocab;
}

static size_t tensor_cols(const mmupt_head *h, mmupt_tensor t) {
    return t == MMUPT_TENSOR_LORA_B ? (size_t) h->rank : (size_t) h->hidden;
}

static size_t tensor_stride(const mmupt_head *h, mmupt_tensor t) {
    return t == MMUPT_TENSOR_LORA_B ? (size_t) h->rank_pad : (size_t) h->hidden_pad;
}

/* Bytes of the tensors a head of this shape allocates, each rounded like aligned_zalloc rounds it; create
 * allocates exactly these (the C tests compare), so callers can check the memory before asking for it. */
static size_t rounded_bytes(size_t bytes) {
    return bytes == 0 ? ALIGNMENT : (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
}

static size_t head_bytes(int vocab, int hidden, int rank, int trainable, int bf16) {
    size_t v = (size_t) vocab, hp = (size_t) row_stride(hidden), r = (size_t) rank, rp = rank > 0 ? (size_t) PAD16(rank) : 0;
    size_t total = rounded_bytes(v * hp * sizeof(float));
    if (bf16) {
        total += rounded_bytes(v * hp * sizeof(uint16_t)) + rounded_bytes((v + 1) / 2 * 2 * hp * sizeof(uint16_t));
    }
    if (rank > 0) {
        total += rounded_bytes(r * hp * sizeof(float)) + rounded_bytes(v * rp * sizeof(float));
    }
    if (trainable) {
        size_t trained = rank > 0 ? rounded_bytes(r * hp * sizeof(float)) + rounded_bytes(v * rp * sizeof(float))
                : rounded_bytes(v * hp * sizeof(float));
        total += 3 * trained; /* gradient and AdamW's two moments */
    }
    return total;
}

long long mmupt_head_bytes(int vocab, int hidden, int rank, int trainable, const char *isa) {
    if (vocab <= 0 || hidden <= 0 || rank < 0 || rank > hidden) {
        return -1;
    }
    return (long long) head_bytes(vocab, hidden, rank, trainable, isa != NULL && strcmp(isa, "avx512bf16") == 0);
}

mmupt_head *mmupt_head_create(const mmupt_head_desc *desc, mmupt_error *err) {
    if (desc == NULL) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "head description is NULL");
        return NULL;
    }
    if (desc->vocab <= 0 || desc->hidden <= 0) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "head needs V > 0 and d > 0, got V=%d, d=%d", desc->vocab, desc->hidden);
        return NULL;
    }
    if (desc->rank < 0 || desc->rank > desc->hidden) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "LoRA rank must be in [0, d=%d], got %d", desc->hidden, desc->rank);
        return NULL;
    }
    if (desc->rank > 0 && !(desc->alpha > 0 && isfinite(desc->alpha))) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "LoRA alpha must be positive and finite, got %g", (double) desc->alpha);
        return NULL;
    }
    if (desc->threads < 0 || desc->threads > MAX_THREADS) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "threads must be in [0, %d], got %d", MAX_THREADS, desc->threads);
        return NULL;
    }
    const mmupt_isa *isa = pick_isa(desc->isa, err);
    if (isa == NULL) {
        return NULL;
    }
    mmupt_head *h = calloc(1, sizeof *h);
    if (h == NULL) {
        set_error(err, MMUPT_ERR_MEMORY, -1, "out of memory for the head");
        return NULL;
    }
    h->trainable = desc->trainable != 0;
    h->owned_bytes = head_bytes(desc->vocab, desc->hidden, desc->rank, h->trainable, isa->gemm_logits_bf16 != NULL);
    h->vocab = desc->vocab;
    h->hidden = desc->hidden;
    h->rank = desc->rank;
    h->hidden_pad = row_stride(desc->hidden);
    h->rank_pad = desc->rank > 0 ? PAD16(desc->rank) : 0;
    h->alpha = desc->rank > 0 ? desc->alpha : 0.0f;
    h->lora_scale = desc->rank > 0 ? desc->alpha / (float) desc->rank : 0.0f;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    h->threads = desc->threads > 0 ? desc->threads : (int) (online > 0 ? (online < MAX_THREADS ? online : MAX_THREADS) : 1);
    h->isa = isa;
    /* The bf16 path's blocks have twice the budget and twice the cap: its dh and dW tiles reduce over row and
     * token pairs, so they do half the iterations per load and store of their fp32 accumulators, and longer
     * blocks win that back (T=512 d=2048: train 0.39 s with fp32-sized blocks, 0.345 s with these; fp32 itself
     * gained nothing from larger blocks). */
    int bf16 = isa->gemm_logits_bf16 != NULL;
    /* from d rounded to 16, not from the stride: 192 KB over 2064-float rows would give 16 rows, not 24 (d=2048),
     * and score mode lost 40% with those shorter blocks */
    size_t row_bytes = (size_t) PAD16(h->hidden) * (bf16 ? sizeof(uint16_t) : sizeof(float));
    int rows = (int) ((bf16 ? 2 : 1) * BLOCK_BYTES / row_bytes) / 8 * 8, cap = bf16 ? 128 : 64;
    h->block_rows = rows < 16 ? 16 : (rows > cap ? cap : rows);
    int blocks = (h->vocab + h->block_rows - 1) / h->block_rows;
    h->partitions = blocks < MMUPT_PARTITIONS ? blocks : MMUPT_PARTITIONS;
    size_t wsize = (size_t) h->vocab * h->hidden_pad;
    h->weight = aligned_zalloc(wsize * sizeof(float));
    int failed = h->weight == NULL;
    if (isa->gemm_logits_bf16 != NULL) {
        h->weight_bf16 = aligned_zalloc(wsize * sizeof(uint16_t));
        h->weight_pairs = aligned_zalloc((size_t) (h->vocab + 1) / 2 * 2 * h->hidden_pad * sizeof(uint16_t));
        failed |= h->weight_bf16 == NULL || h->weight_pairs == NULL;
    }
    if (h->rank > 0) {
        h->lora_a = aligned_zalloc((size_t) h->rank * h->hidden_pad * sizeof(float));
        h->lora_b = aligned_zalloc((size_t) h->vocab * h->rank_pad * sizeof(float));
        failed |= h->lora_a == NULL || h->lora_b == NULL;
    }
    if (h->trainable) {
        int tensors = h->rank > 0 ? 2 : 1;
        for (int k = 0; k < tensors; k++) {
            mmupt_tensor t = h->rank > 0 ? (mmupt_tensor) (k + 1) : MMUPT_TENSOR_WEIGHT;
            size_t n = tensor_rows(h, t) * tensor_stride(h, t);
            h->grad[k] = aligned_zalloc(n * sizeof(float));
            h->adam_m[k] = aligned_zalloc(n * sizeof(float));
            h->adam_v[k] = aligned_zalloc(n * sizeof(float));
            failed |= h->grad[k] == NULL || h->adam_m[k] == NULL || h->adam_v[k] == NULL;
        }
    }
    if (failed) {
        mmupt_head_destroy(h);
        set_error(err, MMUPT_ERR_MEMORY, -1, "out of memory for a head of V=%d, d=%d, r=%d", desc->vocab, desc->hidden, desc->rank);
        return NULL;
    }
    ok(err);
    return h;
}

void mmupt_head_destroy(mmupt_head *h) {
    if (h == NULL) {
        return;
    }
    free(h->weight);
    free(h->weight_bf16);
    free(h->weight_pairs);
    free(h->lora_a);
    free(h->lora_b);
    for (int k = 0; k < 2; k++) {
        free(h->grad[k]);
        free(h->adam_m[k]);
        free(h->adam_v[k]);
    }
    free(h);
}

size_t mmupt_head_owned_bytes(const mmupt_head *h) {
    return h == NULL ? 0 : h->owned_bytes;
}

/* The padded storage of a tensor part, or NULL (with err set) when the head has no such part. */
static float *part_storage(const mmupt_head *h, mmupt_tensor t, mmupt_part part, mmupt_error *err) {
    if (t < MMUPT_TENSOR_WEIGHT || t > MMUPT_TENSOR_LORA_B) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "unknown tensor %d", (int) t);
        return NULL;
    }
    if (t != MMUPT_TENSOR_WEIGHT && h->rank == 0) {
        set_error(err, MMUPT_ERR_STATE, -1, "a full head has no LoRA tensors");
        return NULL;
    }
    if (part == MMUPT_PART_VALUE) {
        return t == MMUPT_TENSOR_WEIGHT ? h->weight : t == MMUPT_TENSOR_LORA_A ? h->lora_a : h->lora_b;
    }
    if (part < MMUPT_PART_GRAD || part > MMUPT_PART_ADAM_V) {
        set_error(err, MMUPT_ERR_ARGUMENT, -1, "unknown tensor part %d", (int) part);
        return NULL;
    }
    if (!h->trainable) {
        set_error(err, MMUPT_ERR_STATE, -1, "a frozen head has no gradient or optimizer state");
        return NULL;
    }
    int k;
    if (h->rank == 0) {
        k = 0;
    } else if (t == MMUPT_TENSOR_WEIGHT) {
        set_error(err, MMUPT_ERR_STATE, -1, "the base weight W0 of a LoRA head is frozen: it has no gradient or optimizer state");
        return NULL;
    } else {
        k = t == MMUPT_TENSOR_LORA_A ? 0 : 1;
    }
    return part == MMUPT_PART_GRAD ? h->grad[k] : part == MMUPT_PART_ADAM_M ? h->adam_m[k] : h->adam_v[k];
}

/* The bf16 copies of W's rows [from, to), from the fp32 master weights (bf16 paths only); the row-pair copy is
 * refreshed for every pair the range touches. */
static void refresh_bf16(mmupt_head *h, size_t from, size_t to) {
    if (h->weight_bf16 == NULL || from >= to) {
        return;
    }
    size_t hp = (size_t) h->hidden_pad;
    h->isa->to_bf16(h->weight + from * hp, h->weight_bf16 + from * hp, (to - from) * hp);
    size_t p0 = from / 2 * 2, p1 = (to + 1) / 2 * 2 < (size_t) h->vocab ? (to + 1) / 2 * 2 : (size_t) h->vocab;
    h->isa->to_bf16_row_pairs(h->weight + p0 * hp, (int) (p1 - p0), hp, h->weight_pairs + p0 * hp);
}

int mmupt_head_write_rows(mmupt_head *h, mmupt_tensor t, mmupt_part part, long long first_row, long long row_count,
        const float *values, mmupt_error *err) {
    if (h == NULL || values == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head and values must not be NULL");
    }
    float *dst = part_storage(h, t, part, err);
    if (dst == NULL) {
        return err != NULL ? err->status : MMUPT_ERR_ARGUMENT;
    }
    size_t rows = tensor_rows(h, t), cols = tensor_cols(h, t), stride = tensor_stride(h, t);
    if (first_row < 0 || row_count < 0 || (size_t) first_row + (size_t) row_count > rows) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "rows [%lld, %lld) are outside the tensor's %zu rows", first_row,
                first_row + row_count, rows);
    }
    size_t n = (size_t) row_count * cols;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) {
            return set_error(err, MMUPT_ERR_NONFINITE, (long long) i, "tensor value [%zu, %zu] is %g; values must be finite",
                    (size_t) first_row + i / cols, i % cols, (double) values[i]);
        }
        if (part == MMUPT_PART_ADAM_V && values[i] < 0) {
            return set_error(err, MMUPT_ERR_ARGUMENT, (long long) i, "second moment [%zu, %zu] is %g; AdamW's second "
                    "moments must be >= 0", (size_t) first_row + i / cols, i % cols, (double) values[i]);
        }
    }
    for (size_t i = 0; i < (size_t) row_count; i++) {
        memcpy(dst + ((size_t) first_row + i) * stride, values + i * cols, cols * sizeof(float));
    }
    if (t == MMUPT_TENSOR_WEIGHT && part == MMUPT_PART_VALUE) {
        refresh_bf16(h, (size_t) first_row, (size_t) first_row + (size_t) row_count);
    }
    return ok(err);
}

int mmupt_head_write(mmupt_head *h, mmupt_tensor t, mmupt_part part, const float *values, mmupt_error *err) {
    long long rows = h == NULL || t < MMUPT_TENSOR_WEIGHT || t > MMUPT_TENSOR_LORA_B ? 0 : (long long) tensor_rows(h, t);
    return mmupt_head_write_rows(h, t, part, 0, rows, values, err);
}

int mmupt_head_read_rows(const mmupt_head *h, mmupt_tensor t, mmupt_part part, long long first_row, long long row_count,
        float *values, mmupt_error *err) {
    if (h == NULL || values == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head and values must not be NULL");
    }
    const float *src = part_storage(h, t, part, err);
    if (src == NULL) {
        return err != NULL ? err->status : MMUPT_ERR_ARGUMENT;
    }
    size_t rows = tensor_rows(h, t), cols = tensor_cols(h, t), stride = tensor_stride(h, t);
    if (first_row < 0 || row_count < 0 || (size_t) first_row + (size_t) row_count > rows) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "rows [%lld, %lld) are outside the tensor's %zu rows", first_row,
                first_row + row_count, rows);
    }
    for (size_t i = 0; i < (size_t) row_count; i++) {
        memcpy(values + i * cols, src + ((size_t) first_row + i) * stride, cols * sizeof(float));
    }
    return ok(err);
}

int mmupt_head_read(const mmupt_head *h, mmupt_tensor t, mmupt_part part, float *values, mmupt_error *err) {
    long long rows = h == NULL || t < MMUPT_TENSOR_WEIGHT || t > MMUPT_TENSOR_LORA_B ? 0 : (long long) tensor_rows(h, t);
    return mmupt_head_read_rows(h, t, part, 0, rows, values, err);
}

long long mmupt_head_step(const mmupt_head *h) {
    return h == NULL ? -1 : h->step;
}

int mmupt_head_set_step(mmupt_head *h, long long step, mmupt_error *err) {
    if (h == NULL || step < 0) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "need a head and a step >= 0");
    }
    h->step = step;
    return ok(err);
}

void mmupt_head_dims(const mmupt_head *h, int *vocab, int *hidden, int *rank) {
    *vocab = h == NULL ? 0 : h->vocab;
    *hidden = h == NULL ? 0 : h->hidden;
    *rank = h == NULL ? 0 : h->rank;
}

size_t mmupt_head_last_workspace_bytes(const mmupt_head *h) {
    return h == NULL ? 0 : h->last_workspace;
}

const char *mmupt_head_isa(const mmupt_head *h) {
    return h == NULL ? "" : h->isa->name;
}

int mmupt_head_threads(const mmupt_head *h) {
    return h == NULL ? 0 : h->threads;
}

/* ------------------------------------------------------------------------------------------ checks */

static int check_tokens(const mmupt_head *h, const float *hidden, const int32_t *targets, int tokens, mmupt_error *err) {
    if (tokens < 0) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "token count must be >= 0, got %d", tokens);
    }
    if (tokens > 0 && hidden == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "hidden states are NULL");
    }
    size_t n = (size_t) tokens * h->hidden;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(hidden[i])) {
            return set_error(err, MMUPT_ERR_NONFINITE, (long long) i, "hidden[%zu, %zu] is %g; hidden states must be finite",
                    i / h->hidden, i % h->hidden, (double) hidden[i]);
        }
    }
    if (targets != NULL) {
        for (int t = 0; t < tokens; t++) {
            if (targets[t] < 0 || targets[t] >= h->vocab) {
                return set_error(err, MMUPT_ERR_ARGUMENT, t, "target %d is token %d, outside the vocabulary [0, %d)", t,
                        targets[t], h->vocab);
            }
        }
    }
    return MMUPT_OK;
}

static int check_finite(const float *x, int n, const char *name, mmupt_error *err) {
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            return set_error(err, MMUPT_ERR_NONFINITE, i, "%s[%d] is %g; it must be finite", name, i, (double) x[i]);
        }
    }
    return MMUPT_OK;
}

/* ------------------------------------------------------------------------------------------ forward */

/* Softmax statistics of one token over one partition, in double. */
typedef struct {
    double *max, *sum, *ent;        /* (P, ntok): running max, sum exp(z - max), sum exp(z - max) z */
} stats;

static void stats_merge_block(double *m, double *s, double *e, const float *bm, const float *bs, const float *be, int ntok) {
    for (int t = 0; t < ntok; t++) {
        double nm = bm[t];
        if (s[t] == 0.0) {
            m[t] = nm;
            s[t] = bs[t];
            e[t] = be[t];
            continue;
        }
        double mx = m[t] > nm ? m[t] : nm;
        double a = exp(m[t] - mx), b = exp(nm - mx);
        s[t] = s[t] * a + bs[t] * b;
        e[t] = e[t] * a + be[t] * b;
        m[t] = mx;
    }
}

/* Shared state of a forward pass (score, logits and sweep 1 of train) over one tile of tokens. */
typedef struct {
    mmupt_head *h;
    int partitions;
    int ntok;                       /* padded tile width, a multiple of 16 */
    const float *hT;                /* (hidden_pad, ntok) */
    const uint16_t *hTp;            /* bf16 paths: (hidden_pad / 2, ntok, 2), the row pairs of hT */
    const float *uT;                /* (rank, ntok), LoRA */
    float inv_temperature;
    const int32_t *targets;         /* (ntok), -1 for padding; NULL for none */
    float *chunk_z;                 /* (V, ntok) logits of the whole chunk (train mode) */
    int slots;                      /* workers that may run at once: block scratch is per worker */
    float *block_z;                 /* (slots, block_rows, ntok) */
    float *bm, *bs, *be;            /* (slots, ntok) block scratch */
    stats st;
    float *target_z;                /* (ntok) */
    float *logits_out;              /* logits mode: (rows_out, V), or NULL */
    int rows_out;
} forward_pass;

/* Resets partition p's running statistics before a pass over its rows. */
static void forward_begin(forward_pass *f, int p) {
    int n = f->ntok;
    double *m = f->st.max + (size_t) p * n, *s = f->st.sum + (size_t) p * n, *e = f->st.ent + (size_t) p * n;
    for (int t = 0; t < n; t++) {
        m[t] = -INFINITY;
        s[t] = 0.0;
        e[t] = 0.0;
    }
}

/* Logits of rows [vb, vb + rows) of partition p for the tile, written to z (rows, ntok) and folded into the
 * partition's statistics; `slot` is the calling worker's scratch. */
static void forward_block(forward_pass *f, int p, int slot, int vb, int rows, float *z) {
    mmupt_head *h = f->h;
    const mmupt_isa *isa = h->isa;
    int n = f->ntok;
    if (h->weight_bf16 != NULL) {
        isa->gemm_logits_bf16(h->weight_bf16 + (size_t) vb * h->hidden_pad, h->hidden_pad, f->hTp, n, (h->hidden + 1) & ~1,
                rows, n, z, n, f->inv_temperature, 0);
    } else {
        isa->gemm_logits(h->weight + (size_t) vb * h->hidden_pad, h->hidden_pad, f->hT, n, h->hidden, rows, n, z, n,
                f->inv_temperature, 0);
    }
    if (h->rank > 0) {
        isa->gemm_logits(h->lora_b + (size_t) vb * h->rank_pad, h->rank_pad, f->uT, n, h->rank, rows, n, z, n,
                h->lora_scale * f->inv_temperature, 1);
    }
    if (f->logits_out != NULL) {
        for (int t = 0; t < f->rows_out; t++) {
            float *row = f->logits_out + (size_t) t * h->vocab + vb;
            for (int r = 0; r < rows; r++) {
                row[r] = z[(size_t) r * n + t];
            }
        }
        return;
    }
    float *bm = f->bm + (size_t) slot * n, *bs = f->bs + (size_t) slot * n, *be = f->be + (size_t) slot * n;
    isa->block_stats(z, n, rows, n, bm, bs, be);
    stats_merge_block(f->st.max + (size_t) p * n, f->st.sum + (size_t) p * n, f->st.ent + (size_t) p * n, bm, bs, be, n);
    if (f->targets != NULL) {
        for (int t = 0; t < n; t++) {
            int y = f->targets[t];
            if (y >= vb && y < vb + rows) {
                f->target_z[t] = z[(size_t) (y - vb) * n + t];
            }
        }
    }
}

static void forward_partition(forward_pass *f, int p, int slot) {
    int v0, v1;
    partition_rows(f->h, f->partitions, p, &v0, &v1);
    forward_begin(f, p);
    int block = f->h->block_rows;
    for (int vb = v0; vb < v1; vb += block) {
        forward_block(f, p, slot, vb, v1 - vb < block ? v1 - vb : block, f->block_z + (size_t) slot * block * f->ntok);
    }
}

/* Merges the partitions' statistics in order: log-normalizer, entropy and log-prob of the target. */
static void forward_finish(const forward_pass *f, int t, double *lse, double *entropy, double *logp) {
    int n = f->ntok;
    double m = -INFINITY, s = 0.0, e = 0.0;
    for (int p = 0; p < f->partitions; p++) {
        double pm = f->st.max[(size_t) p * n + t], ps = f->st.sum[(size_t) p * n + t], pe = f->st.ent[(size_t) p * n + t];
        if (ps == 0.0) {
            continue;
        }
        if (s == 0.0) {
            m = pm;
            s = ps;
            e = pe;
            continue;
        }
        double mx = m > pm ? m : pm;
        double a = exp(m - mx), b = exp(pm - mx);
        s = s * a + ps * b;
        e = e * a + pe * b;
        m = mx;
    }
    *lse = m + log(s);
    *entropy = *lse - e / s;
    *logp = (double) f->target_z[t] - *lse;
}

/* hT (hidden_pad, ntok) <- columns from rows [t0, t0 + count) of hidden (T, d); padding is zero. */
static void pack_transposed(const mmupt_head *h, const float *hidden, int t0, int count, int ntok, float *hT) {
    memset(hT, 0, (size_t) h->hidden_pad * ntok * sizeof(float));
    for (int t = 0; t < count; t++) {
        const float *row = hidden + (size_t) (t0 + t) * h->hidden;
        for (int j = 0; j < h->hidden; j++) {
            hT[(size_t) j * ntok + t] = row[j];
        }
    }
}

/* uT (rank, ntok) = A hT, and optionally u (ntok, rank_pad) row-major. */
static void lora_project(const mmupt_head *h, const float *hT, int ntok, float *uT, float *u) {
    h->isa->gemm_logits(h->lora_a, h->hidden_pad, hT, ntok, h->hidden, h->rank, ntok, uT, ntok, 1.0f, 0);
    if (u != NULL) {
        memset(u, 0, (size_t) ntok * h->rank_pad * sizeof(float));
        for (int k = 0; k < h->rank; k++) {
            for (int t = 0; t < ntok; t++) {
                u[(size_t) t * h->rank_pad + k] = uT[(size_t) k * ntok + t];
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ chunks */

/* The tokens of one chunk (or score tile), laid out for the GEMMs; h_rows and u_rows only in train mode. */
typedef struct {
    float *hT;                      /* (hidden_pad, ntok): column t is token t */
    float *uT;                      /* (rank, ntok): A hT, LoRA */
    float *h_rows;                  /* (ntok, hidden_pad) row-major, train mode */
    uint16_t *hTp;                  /* bf16 paths: (hidden_pad / 2, ntok, 2) */
    uint16_t *h_pairs;              /* bf16 train mode: (ntok / 2, hidden_pad, 2), the row pairs of h_rows */
    float *u_rows;                  /* (ntok, rank_pad), LoRA train mode */
    int32_t *targets;               /* (ntok), -1 for padding */
    int t0, count;                  /* the tokens [t0, t0 + count) of the call */
} chunk_buffers;

static size_t chunk_bytes(const mmupt_head *h, int ntok, int rows) {
    size_t rk = (size_t) (h->rank > 0 ? h->rank : 1), rp = (size_t) (h->rank_pad > 0 ? h->rank_pad : 16);
    size_t bf = h->weight_bf16 != NULL ? arena_piece((size_t) h->hidden_pad * ntok * sizeof(uint16_t)) : 0;
    return arena_piece((size_t) h->hidden_pad * ntok * sizeof(float)) + arena_piece(rk * ntok * sizeof(float))
            + arena_piece((size_t) ntok * sizeof(int32_t)) + bf
            + (rows ? arena_piece((size_t) ntok * h->hidden_pad * sizeof(float)) + arena_piece((size_t) ntok * rp * sizeof(float))
                    + bf : 0);
}

static void chunk_carve(chunk_buffers *b, arena *a, const mmupt_head *h, int ntok, int rows) {
    size_t rk = (size_t) (h->rank > 0 ? h->rank : 1), rp = (size_t) (h->rank_pad > 0 ? h->rank_pad : 16);
    b->hT = arena_take(a, (size_t) h->hidden_pad * ntok * sizeof(float));
    b->uT = arena_take(a, rk * ntok * sizeof(float));
    b->targets = arena_take(a, (size_t) ntok * sizeof(int32_t));
    b->h_rows = rows ? arena_take(a, (size_t) ntok * h->hidden_pad * sizeof(float)) : NULL;
    b->u_rows = rows ? arena_take(a, (size_t) ntok * rp * sizeof(float)) : NULL;
    int bf = h->weight_bf16 != NULL;
    b->hTp = bf ? arena_take(a, (size_t) h->hidden_pad * ntok * sizeof(uint16_t)) : NULL;
    b->h_pairs = bf && rows ? arena_take(a, (size_t) ntok * h->hidden_pad * sizeof(uint16_t)) : NULL;
}

/* Packs tokens [t0, t0 + ntok) of the call into b (padding with zeros) and points the forward pass at them. */
static void chunk_pack(forward_pass *f, chunk_buffers *b, const float *hidden, const int32_t *targets, int tokens, int t0) {
    const mmupt_head *h = f->h;
    int n = f->ntok;
    b->t0 = t0;
    b->count = tokens - t0 < n ? tokens - t0 : n;
    pack_transposed(h, hidden, t0, b->count, n, b->hT);
    if (b->h_rows != NULL) {
        memset(b->h_rows, 0, (size_t) n * h->hidden_pad * sizeof(float));
        for (int t = 0; t < b->count; t++) {
            memcpy(b->h_rows + (size_t) t * h->hidden_pad, hidden + (size_t) (t0 + t) * h->hidden,
                    (size_t) h->hidden * sizeof(float));
        }
    }
    if (h->rank > 0) {
        lora_project(h, b->hT, n, b->uT, b->u_rows);
    }
    if (b->hTp != NULL) {
        h->isa->to_bf16_row_pairs(b->hT, h->hidden_pad, (size_t) n, b->hTp);
    }
    if (b->h_pairs != NULL) {
        h->isa->to_bf16_row_pairs(b->h_rows, n, (size_t) h->hidden_pad, b->h_pairs);
    }
    for (int t = 0; t < n; t++) {
        b->targets[t] = targets != NULL && t < b->count ? targets[t0 + t] : -1;
    }
    f->hT = b->hT;
    f->hTp = b->hTp;
    f->uT = b->uT;
    f->targets = targets != NULL ? b->targets : NULL;
}

/* ------------------------------------------------------------------------------------------ score / logits */

typedef struct {
    forward_pass f;
    chunk_buffers tile;
    const float *hidden;
    const int32_t *targets;
    int tokens;
    float *logp, *entropy;
} score_ctx;

static void score_worker(team *tm, int tid, void *p) {
    score_ctx *c = p;
    forward_pass *f = &c->f;
    for (int t0 = 0; t0 < c->tokens; t0 += f->ntok) {
        if (tid == 0) {
            chunk_pack(f, &c->tile, c->hidden, c->targets, c->tokens, t0);
        }
        team_sync(tm);
        for (int q = tid; q < f->partitions; q += tm->workers) {
            forward_partition(f, q, tid);
        }
        team_sync(tm);
        if (tid == 0) {
            for (int t = 0; t < c->tile.count; t++) {
                double lse, ent, lp;
                forward_finish(f, t, &lse, &ent, &lp);
                if (c->logp != NULL) {
                    c->logp[t0 + t] = (float) lp;
                }
                if (c->entropy != NULL) {
                    c->entropy[t0 + t] = (float) ent;
                }
            }
        }
        team_sync(tm);
    }
}

/* Bytes of the forward pass's own state. */
static size_t forward_workspace(const mmupt_head *h, int partitions, int slots, int ntok) {
    return arena_piece((size_t) slots * h->block_rows * ntok * sizeof(float))  /* block logits */
            + 3 * arena_piece((size_t) slots * ntok * sizeof(float))        /* bm bs be */
            + 3 * arena_piece((size_t) partitions * ntok * sizeof(double))  /* stats */
            + arena_piece((size_t) ntok * sizeof(float));                   /* target z */
}

static void forward_carve(forward_pass *f, arena *a) {
    int n = f->ntok, P = f->partitions, S = f->slots;
    f->block_z = arena_take(a, (size_t) S * f->h->block_rows * n * sizeof(float));
    f->bm = arena_take(a, (size_t) S * n * sizeof(float));
    f->bs = arena_take(a, (size_t) S * n * sizeof(float));
    f->be = arena_take(a, (size_t) S * n * sizeof(float));
    f->st.max = arena_take(a, (size_t) P * n * sizeof(double));
    f->st.sum = arena_take(a, (size_t) P * n * sizeof(double));
    f->st.ent = arena_take(a, (size_t) P * n * sizeof(double));
    f->target_z = arena_take(a, (size_t) n * sizeof(float));
}

static int run_forward(mmupt_head *h, const float *hidden, const int32_t *targets, int tokens, double temperature,
        float *logp, float *entropy, float *logits, mmupt_error *err) {
    if (h == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head is NULL");
    }
    if (!(temperature > 0) || !isfinite(temperature)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "temperature must be positive and finite, got %g", temperature);
    }
    int rc = check_tokens(h, hidden, targets, tokens, err);
    if (rc != MMUPT_OK) {
        return rc;
    }
    h->last_workspace = 0;
    if (tokens == 0) {
        return ok(err);
    }
    score_ctx c;
    memset(&c, 0, sizeof c);
    c.f.h = h;
    c.f.partitions = h->partitions;
    c.f.slots = workers_for(h, tokens);
    c.f.ntok = PAD16(tokens < SCORE_TILE ? tokens : SCORE_TILE);
    c.f.inv_temperature = (float) (1.0 / temperature);
    size_t bytes = forward_workspace(h, c.f.partitions, c.f.slots, c.f.ntok) + chunk_bytes(h, c.f.ntok, 0);
    arena a = {aligned_zalloc(bytes), bytes, 0};
    if (a.base == NULL) {
        return set_error(err, MMUPT_ERR_MEMORY, -1, "out of memory for %zu bytes of workspace", bytes);
    }
    h->last_workspace = bytes;
    forward_carve(&c.f, &a);
    chunk_carve(&c.tile, &a, h, c.f.ntok, 0);
    c.hidden = hidden;
    c.targets = targets;
    c.tokens = tokens;
    c.logp = logp;
    c.entropy = entropy;
    if (logits != NULL) {
        /* logits mode, for sampling (few tokens): one thread writes each tile's rows from the block buffers */
        for (int t0 = 0; t0 < tokens; t0 += c.f.ntok) {
            chunk_pack(&c.f, &c.tile, hidden, NULL, tokens, t0);
            c.f.logits_out = logits + (size_t) t0 * h->vocab;
            c.f.rows_out = c.tile.count;
            for (int q = 0; q < c.f.partitions; q++) {
                forward_partition(&c.f, q, 0);
            }
        }
        free(a.base);
        return ok(err);
    }
    rc = team_run(c.f.slots, score_worker, &c, err);
    free(a.base);
    return rc == MMUPT_OK ? ok(err) : rc;
}

int mmupt_head_score(mmupt_head *h, const float *hidden, const int32_t *targets, int tokens, double temperature,
        float *logp, float *entropy, mmupt_error *err) {
    if (targets == NULL && tokens > 0) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "targets are NULL");
    }
    return run_forward(h, hidden, targets, tokens, temperature, logp, entropy, NULL, err);
}

int mmupt_head_logits(mmupt_head *h, const float *hidden, int tokens, float *logits, mmupt_error *err) {
    if (logits == NULL && tokens > 0) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "logits output is NULL");
    }
    return run_forward(h, hidden, NULL, tokens, 1.0, NULL, NULL, logits, err);
}

/* ------------------------------------------------------------------------------------------ sampling */

/* Candidates of the boundary bucket: by weight descending, ties by id ascending (the order a stable sort of
 * the probabilities gives). */
typedef struct {
    float w;
    int32_t id;
} weighted_id;

static int by_weight_descending(const void *a, const void *b) {
    const weighted_id *x = a, *y = b;
    if (x->w != y->w) return x->w > y->w ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

#define MMUPT_TOP_P_BUCKETS 4096

/* Keeps the nucleus of row z (weights >= 0, total their sum): the fewest heaviest tokens whose weight reaches
 * top_p times the total, as a descending sort would choose them; every other weight becomes 0. The threshold is
 * found by a radix select on the weights' float bits (non-negative floats order as their bits): one pass
 * histograms the top 12 bits, and only the bucket the cut falls in is sorted. Returns the kept total. */
static double keep_nucleus(float *z, size_t v, double total, double top_p, double *mass, weighted_id *scratch) {
    double target = top_p * total;
    memset(mass, 0, MMUPT_TOP_P_BUCKETS * sizeof(double));
    for (size_t i = 0; i < v; i++) {
        uint32_t bits;
        memcpy(&bits, &z[i], sizeof bits);
        mass[bits >> 20] += z[i];
    }
    double above = 0;
    int cut = MMUPT_TOP_P_BUCKETS - 1;
    while (cut > 0 && above + mass[cut] < target) above += mass[cut--];
    size_t n = 0;
    for (size_t i = 0; i < v; i++) {
        uint32_t bits;
        memcpy(&bits, &z[i], sizeof bits);
        int bucket = (int) (bits >> 20);
        if (bucket < cut) {
            z[i] = 0.0f;
        } else if (bucket == cut && z[i] > 0) {
            scratch[n].w = z[i];
            scratch[n].id = (int32_t) i;
            n++;
        }
    }
    qsort(scratch, n, sizeof(weighted_id), by_weight_descending);
    double kept = above;
    size_t j = 0;
    while (j < n && kept < target) kept += scratch[j++].w;
    for (; j < n; j++) z[scratch[j].id] = 0.0f;
    return kept;
}

int mmupt_head_draw(const mmupt_head *h, float *logits, int rows, double temperature, double top_p,
        const double *uniform, const int32_t *banned, int banned_count, const uint8_t *skip, int32_t *out,
        mmupt_error *err) {
    if (h == NULL || (rows > 0 && (logits == NULL || uniform == NULL || out == NULL))) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head, logits, uniform and out must not be NULL");
    }
    if (rows < 0 || banned_count < 0 || !(temperature > 0) || !isfinite(temperature)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "need rows >= 0, banned_count >= 0 and a finite temperature > 0, "
                "got %d, %d, %g", rows, banned_count, temperature);
    }
    if (!(top_p > 0 && top_p <= 1)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "top_p must be in (0, 1], got %g", top_p);
    }
    for (int b = 0; b < banned_count; b++) {
        if (banned[b] < 0 || banned[b] >= h->vocab) {
            return set_error(err, MMUPT_ERR_ARGUMENT, b, "banned token %d is outside the vocabulary [0, %d)", banned[b],
                    h->vocab);
        }
    }
    for (int r = 0; r < rows; r++) {
        if (!(uniform[r] >= 0.0 && uniform[r] < 1.0)) {
            return set_error(err, MMUPT_ERR_ARGUMENT, r, "uniform[%d] = %g is outside [0, 1)", r, uniform[r]);
        }
    }
    size_t v = (size_t) h->vocab;
    size_t blocks = (v + MMUPT_DRAW_BLOCK - 1) / MMUPT_DRAW_BLOCK;
    float *sums = malloc(blocks * sizeof(float));
    double *mass = top_p < 1 ? malloc(MMUPT_TOP_P_BUCKETS * sizeof(double)) : NULL;
    weighted_id *scratch = top_p < 1 ? malloc(v * sizeof(weighted_id)) : NULL;
    if (sums == NULL || (top_p < 1 && (mass == NULL || scratch == NULL))) {
        free(sums);
        free(mass);
        free(scratch);
        return set_error(err, MMUPT_ERR_MEMORY, -1, "out of memory for the draw's scratch (%zu tokens)", v);
    }
    for (int r = 0; r < rows; r++) {
        if (skip != NULL && skip[r]) {
            out[r] = -2;
            continue;
        }
        float *z = logits + (size_t) r * v;
        for (int b = 0; b < banned_count; b++) {
            z[banned[b]] = -INFINITY;
        }
        float zmax = h->isa->row_max(z, v);
        if (!isfinite(zmax)) { /* NaN, +Inf, or every token banned or -Inf */
            out[r] = -1;
            continue;
        }
        float scale = (float) (1.0 / temperature);
        h->isa->exp_weights(z, v, zmax, scale, sums);
        for (int b = 0; b < banned_count; b++) { /* exp's clamp leaves a tiny weight at -Inf: make it 0 */
            sums[(size_t) banned[b] / MMUPT_DRAW_BLOCK] -= z[banned[b]];
            z[banned[b]] = 0.0f;
        }
        double total = 0;
        for (size_t k = 0; k < blocks; k++) total += sums[k];
        if (!(total > 0) || !isfinite(total)) {
            out[r] = -1;
            continue;
        }
        if (top_p < 1) {
            total = keep_nucleus(z, v, total, top_p, mass, scratch);
            for (size_t k = 0; k < blocks; k++) {
                size_t end = (k + 1) * MMUPT_DRAW_BLOCK < v ? (k + 1) * MMUPT_DRAW_BLOCK : v;
                float sum = 0;
                for (size_t i = k * MMUPT_DRAW_BLOCK; i < end; i++) sum += z[i];
                sums[k] = sum;
            }
        }
        /* the first token whose cumulative weight passes u * total: whole blocks first, then one by one */
        double target = uniform[r] * total, acc = 0;
        size_t k = 0;
        while (k + 1 < blocks && acc + sums[k] <= target) acc += sums[k++];
        int32_t chosen = -1;
        for (size_t i = k * MMUPT_DRAW_BLOCK; i < v; i++) {
            if (z[i] > 0) {
                chosen = (int32_t) i; /* the last token with weight, should rounding carry the sum past the end */
            }
            acc += z[i];
            if (target < acc && z[i] > 0) {
                break;
            }
        }
        out[r] = chosen;
    }
    free(sums);
    free(mass);
    free(scratch);
    return ok(err);
}

/* ------------------------------------------------------------------------------------------ loss */

typedef struct {
    double loss, grad, policy, kl;
    int region;                     /* 0 none, 1 high, 2 low, 3 dual */
} token_loss;

static double kl_value(int estimator, double x) {
    switch (estimator) {
        case MMUPT_KL_K1: return -x;
        case MMUPT_KL_K2: return 0.5 * x * x;
        default: return expm1(x) - x;
    }
}

static double kl_derivative(int estimator, double x) {
    switch (estimator) {
        case MMUPT_KL_K1: return 1.0;
        case MMUPT_KL_K2: return -x;
        default: return -expm1(x);
    }
}

/* max and min that propagate NaN, as Java's Math.max and Math.min do (C's fmax and fmin drop it) */
static double nan_max(double a, double b) {
    return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
}

static double nan_min(double a, double b) {
    return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
}

/* The per-token GRPO loss and dL/dlogp, exactly as io.github.mmupt.grpo.TokenLoss computes them. */
static token_loss grpo_token(const mmupt_loss_config *c, double logp, double old, double ref, double adv) {
    token_loss out = {0, 0, 0, 0, 0};
    double ratio = exp(logp - old);
    double unclipped = -adv * ratio;
    double clipped_ratio = nan_max(1.0 - c->clip_low, nan_min(1.0 + c->clip_high, ratio));
    double pg = nan_max(unclipped, -adv * clipped_ratio);
    if (adv > 0 && ratio > 1.0 + c->clip_high) {
        out.region = 1;
    } else if (adv < 0 && ratio < 1.0 - c->clip_low) {
        out.region = 2;
    }
    if (adv < 0 && isfinite(c->dual_clip)) {
        pg = nan_min(pg, -adv * c->dual_clip);
        if (ratio > c->dual_clip) {
            out.region = 3;
        }
    }
    double grad = out.region == 0 ? unclipped : 0.0;
    double kl = 0.0;
    if (c->beta > 0) {
        double x = ref - logp;
        if (c->kl_clamps) {
            double xc = nan_max(-20.0, nan_min(20.0, x));
            kl = nan_max(-10.0, nan_min(10.0, kl_value(c->kl_estimator, xc)));
            double raw = kl_value(c->kl_estimator, x);
            int bound = x < -20.0 || x > 20.0 || raw < -10.0 || raw > 10.0;
            grad += bound ? 0.0 : c->beta * kl_derivative(c->kl_estimator, x);
        } else {
            kl = kl_value(c->kl_estimator, x);
            grad += c->beta * kl_derivative(c->kl_estimator, x);
        }
    }
    out.policy = pg;
    out.kl = kl;
    out.loss = pg + c->beta * kl;
    out.grad = grad;
    return out;
}

/* ------------------------------------------------------------------------------------------ train */

typedef struct {
    forward_pass f;
    const mmupt_loss_config *cfg;
    const float *hidden;
    const int32_t *targets;
    const float *adv, *old, *ref, *weights;
    int tokens;
    float *logp_out, *entropy_out, *dh_out;
    chunk_buffers buf[2];
    float *lse, *coef;              /* (ntok) of the chunk being finished */
    float *dh_part;                 /* (slots, ntok, hidden_pad): one partition's dh partial per worker */
    float *gu_part;                 /* (slots, ntok, rank_pad) */
    float *gu_sum;                  /* (ntok, rank_pad) */
    float *guT;                     /* (rank, ntok) */
    float *dh_sum;                  /* (ntok, hidden_pad) */
    uint16_t *dz_bf16;              /* bf16 paths: (slots, block_rows, ntok), a block's dz rounded */
    uint16_t *dz_pairs;             /* bf16 paths: (slots, block_rows / 2, ntok, 2), its row pairs, for dh */
    mmupt_loss_metrics metrics;
} train_ctx;

/* Sweep 2 on one block for chunk b: dz in place, dW (or dB and the LoRA partial gu) and dh. */
static void backward_block(train_ctx *c, const chunk_buffers *b, int slot, int vb, int rows) {
    mmupt_head *h = c->f.h;
    const mmupt_isa *isa = h->isa;
    int n = c->f.ntok;
    float *dz = c->f.chunk_z + (size_t) vb * n;
    isa->softmax_grad(dz, n, rows, n, c->lse, c->coef);
    for (int t = 0; t < n; t++) {
        int y = b->targets[t];
        if (y >= vb && y < vb + rows) {
            dz[(size_t) (y - vb) * n + t] += c->coef[t];
        }
    }
    uint16_t *dzb = NULL, *dzp = NULL;
    if (h->weight_bf16 != NULL) {
        size_t scratch = (size_t) h->block_rows * n;
        dzb = c->dz_bf16 + (size_t) slot * scratch;
        dzp = c->dz_pairs + (size_t) slot * scratch;
        if (h->rank == 0) {
            isa->to_bf16(dz, dzb, (size_t) rows * n);
        }
        if (c->dh_out != NULL) {
            isa->to_bf16_row_pairs(dz, rows, (size_t) n, dzp);
        }
    }
    if (h->rank == 0 && dzb != NULL) {
        isa->gemm_dw_bf16(dzb, n, b->h_pairs, h->hidden_pad, rows, n, h->hidden_pad,
                h->grad[0] + (size_t) vb * h->hidden_pad, h->hidden_pad, 1.0f);
    } else if (h->rank == 0) {
        isa->gemm_dw(dz, n, b->h_rows, h->hidden_pad, rows, n, h->hidden_pad, h->grad[0] + (size_t) vb * h->hidden_pad,
                h->hidden_pad, 1.0f);
    } else {
        isa->gemm_dw(dz, n, b->u_rows, h->rank_pad, rows, n, h->rank_pad, h->grad[1] + (size_t) vb * h->rank_pad,
                h->rank_pad, h->lora_scale);
        isa->gemm_dh(dz, n, h->lora_b + (size_t) vb * h->rank_pad, h->rank_pad, rows, n, h->rank_pad,
                c->gu_part + (size_t) slot * n * h->rank_pad, h->rank_pad, h->lora_scale);
    }
    if (c->dh_out != NULL && dzp != NULL) {
        isa->gemm_dh_bf16(dzp, n, h->weight_pairs + (size_t) vb * h->hidden_pad, h->hidden_pad, rows, n, h->hidden_pad,
                c->dh_part + (size_t) slot * n * h->hidden_pad, h->hidden_pad, 1.0f);
    } else if (c->dh_out != NULL) {
        isa->gemm_dh(dz, n, h->weight + (size_t) vb * h->hidden_pad, h->hidden_pad, rows, n, h->hidden_pad,
                c->dh_part + (size_t) slot * n * h->hidden_pad, h->hidden_pad, 1.0f);
    }
}

/*
 * One pass over partition p's rows: finish chunk `done` (sweep 2) and start chunk `next` (sweep 1) in the
 * same rows of the logits buffer, block by block. Each block of W comes from memory once for both: the next
 * chunk's logits are computed first (their GEMM streams W rows well) into a small block buffer, then the
 * block's backward (whose dh GEMM walks W in strips) finds W in cache, then the new logits replace the old.
 */
static void fused_pass(train_ctx *c, int p, int slot, const chunk_buffers *done, int forward_next) {
    mmupt_head *h = c->f.h;
    int n = c->f.ntok;
    int v0, v1;
    partition_rows(h, c->f.partitions, p, &v0, &v1);
    if (done != NULL) {
        if (c->dh_out != NULL) {
            memset(c->dh_part + (size_t) slot * n * h->hidden_pad, 0, (size_t) n * h->hidden_pad * sizeof(float));
        }
        if (h->rank > 0) {
            memset(c->gu_part + (size_t) slot * n * h->rank_pad, 0, (size_t) n * h->rank_pad * sizeof(float));
        }
    }
    if (forward_next) {
        forward_begin(&c->f, p);
    }
    float *staged = c->f.block_z + (size_t) slot * h->block_rows * n;
    for (int vb = v0; vb < v1; vb += h->block_rows) {
        int rows = v1 - vb < h->block_rows ? v1 - vb : h->block_rows;
        float *z = c->f.chunk_z + (size_t) vb * n;
        if (done == NULL) {
            forward_block(&c->f, p, slot, vb, rows, z);
            continue;
        }
        if (forward_next) {
            forward_block(&c->f, p, slot, vb, rows, staged);
        }
        backward_block(c, done, slot, vb, rows);
        if (forward_next) {
            memcpy(z, staged, (size_t) rows * n * sizeof(float));
        }
    }
}

/* Loss, metrics and the per-token coefficient g_t / tau of chunk b (worker 0, after its sweep 1). */
static void train_chunk_loss(train_ctx *c, const chunk_buffers *b) {
    const mmupt_loss_config *cfg = c->cfg;
    double inv_t = 1.0 / cfg->temperature;
    for (int t = 0; t < c->f.ntok; t++) {
        c->coef[t] = 0.0f;
        c->lse[t] = 0.0f;
    }
    for (int t = 0; t < b->count; t++) {
        double lse, ent, lp;
        forward_finish(&c->f, t, &lse, &ent, &lp);
        c->lse[t] = (float) lse;
        int g = b->t0 + t;
        if (c->logp_out != NULL) {
            c->logp_out[g] = (float) lp;
        }
        if (c->entropy_out != NULL) {
            c->entropy_out[g] = (float) ent;
        }
        double w = c->weights[g];
        if (w == 0.0) {
            continue;
        }
        /* The ratio uses the float log-prob, as it was reported by score mode: exactly 1 on-policy. */
        double logp = (double) (float) lp;
        double ref = c->ref != NULL ? c->ref[g] : 0.0;
        token_loss tl = grpo_token(cfg, logp, c->old[g], ref, c->adv[g]);
        c->coef[t] = (float) (w * tl.grad * inv_t);
        mmupt_loss_metrics *m = &c->metrics;
        m->loss += w * tl.loss;
        m->policy_loss += w * tl.policy;
        m->kl_loss += w * cfg->beta * tl.kl;
        m->tokens++;
        m->kl_sum += tl.kl;
        m->entropy_sum += ent;
        m->drift_sum += c->old[g] - logp;
        m->clipped_high += tl.region == 1;
        m->clipped_low += tl.region == 2;
        m->clipped_dual += tl.region == 3;
    }
}

/* Adds the partials of one wave (slots 0 .. count-1, holding partitions q0 .. q0 + count - 1) to sum, slot by
 * slot; each worker adds its own slice of the elements, so every element sees the same additions in the same
 * order whatever the number of workers. */
static void fold_slice(float *sum, const float *parts, size_t len, int count, int tid, int workers) {
    size_t a = len * (size_t) tid / (size_t) workers, b = len * (size_t) (tid + 1) / (size_t) workers;
    for (int j = 0; j < count; j++) {
        const float *part = parts + (size_t) j * len;
        for (size_t i = a; i < b; i++) {
            sum[i] += part[i];
        }
    }
}

static void fold_wave(train_ctx *c, int tid, int workers, int count) {
    mmupt_head *h = c->f.h;
    int n = c->f.ntok;
    if (c->dh_out != NULL) {
        fold_slice(c->dh_sum, c->dh_part, (size_t) n * h->hidden_pad, count, tid, workers);
    }
    if (h->rank > 0) {
        fold_slice(c->gu_sum, c->gu_part, (size_t) n * h->rank_pad, count, tid, workers);
    }
}

/* The LoRA part of chunk b's gradients and its dh rows, from the folded sums (worker 0). */
static void train_chunk_reduce(train_ctx *c, const chunk_buffers *b) {
    mmupt_head *h = c->f.h;
    int n = c->f.ntok;
    if (h->rank > 0) {
        /* gu (ntok, rank_pad) summed over the vocabulary; then dA += gu^T h and dh += gu A */
        for (int k = 0; k < h->rank; k++) {
            for (int t = 0; t < n; t++) {
                c->guT[(size_t) k * n + t] = c->gu_sum[(size_t) t * h->rank_pad + k];
            }
        }
        h->isa->gemm_dw(c->guT, n, b->h_rows, h->hidden_pad, h->rank, n, h->hidden_pad, h->grad[0], h->hidden_pad, 1.0f);
    }
    if (c->dh_out == NULL) {
        return;
    }
    float *dh = c->dh_sum;
    if (h->rank > 0) {
        h->isa->gemm_dh(c->guT, n, h->lora_a, h->hidden_pad, h->rank, n, h->hidden_pad, dh, h->hidden_pad, 1.0f);
    }
    for (int t = 0; t < b->count; t++) {
        memcpy(c->dh_out + (size_t) (b->t0 + t) * h->hidden, dh + (size_t) t * h->hidden_pad, (size_t) h->hidden * sizeof(float));
    }
}

/*
 * Pipeline over K chunks: pass 0 starts chunk 0; pass k finishes chunk k-1 and starts chunk k; pass K
 * finishes the last. Within a pass the workers take the partitions in waves, one each; when the finished
 * chunk has dh (or LoRA) partials, a wave's partials are folded into the sums before the next wave reuses
 * the slots. Worker 0 merges statistics and computes the loss between passes.
 */
static void train_worker(team *tm, int tid, void *p) {
    train_ctx *c = p;
    mmupt_head *h = c->f.h;
    int n = c->f.ntok, P = c->f.partitions, W = tm->workers;
    int chunks = (c->tokens + n - 1) / n;
    for (int k = 0; k <= chunks; k++) {
        chunk_buffers *done = k > 0 ? &c->buf[(k - 1) % 2] : NULL;
        int forward_next = k < chunks;
        int folds = done != NULL && (c->dh_out != NULL || h->rank > 0);
        if (tid == 0) {
            if (forward_next) {
                chunk_pack(&c->f, &c->buf[k % 2], c->hidden, c->targets, c->tokens, k * n);
            }
            if (folds && c->dh_out != NULL) {
                memset(c->dh_sum, 0, (size_t) n * h->hidden_pad * sizeof(float));
            }
            if (folds && h->rank > 0) {
                memset(c->gu_sum, 0, (size_t) n * h->rank_pad * sizeof(float));
            }
        }
        team_sync(tm);
        for (int q0 = 0; q0 < P; q0 += W) {
            if (q0 + tid < P) {
                fused_pass(c, q0 + tid, tid, done, forward_next);
            }
            if (folds) {
                team_sync(tm);
                fold_wave(c, tid, W, P - q0 < W ? P - q0 : W);
                team_sync(tm);
            }
        }
        team_sync(tm);
        if (tid == 0) {
            if (done != NULL) {
                train_chunk_reduce(c, done);
            }
            if (forward_next) {
                train_chunk_loss(c, &c->buf[k % 2]);
            }
        }
    }
    team_sync(tm);
}

/* Tokens per chunk: the largest multiple of 16 whose logits fit in 10% of a naive [T x V] buffer, at least 16
 * (so below T = 160 the chunk's logits are 16 / T of the naive buffer: 16% at T = 100), at most 1024. The cap
 * was 5%: at T = 512 that meant 16-token chunks, whose dW GEMM (16 tokens of h against each row of W) is bound by
 * reading W and its gradient, and train mode ran at 0.59 of OpenBLAS's SGEMMs against 0.76 with 48 tokens. */
static int auto_chunk(int tokens) {
    int chunk = (int) (0.10 * tokens) / 16 * 16;
    return chunk < 16 ? 16 : (chunk > 1024 ? 1024 : chunk);
}

int mmupt_head_train(mmupt_head *h, const mmupt_loss_config *cfg, const float *hidden, const int32_t *targets,
        const float *adv, const float *old, const float *ref, const float *weights, int tokens, float *logp, float *entropy,
        float *grad_hidden, mmupt_loss_metrics *metrics, mmupt_error *err) {
    if (h == NULL || cfg == NULL || metrics == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head, config and metrics must not be NULL");
    }
    if (!h->trainable) {
        return set_error(err, MMUPT_ERR_STATE, -1, "this head is frozen (created with trainable = 0)");
    }
    if (!(cfg->temperature > 0) || !isfinite(cfg->temperature)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "temperature must be positive and finite, got %g", cfg->temperature);
    }
    if (!(cfg->clip_low >= 0 && cfg->clip_low < 1) || !(cfg->clip_high >= 0) || !(cfg->dual_clip > 1)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "clip range needs 0 <= low < 1, high >= 0, dual > 1; got %g, %g, %g",
                cfg->clip_low, cfg->clip_high, cfg->dual_clip);
    }
    if (!(cfg->beta >= 0) || !isfinite(cfg->beta) || cfg->kl_estimator < MMUPT_KL_K1 || cfg->kl_estimator > MMUPT_KL_K3
            || (cfg->kl_clamps && cfg->kl_estimator != MMUPT_KL_K3)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "KL needs beta >= 0, an estimator in 1..3 and clamps only with K3");
    }
    if (cfg->chunk_tokens < 0 || cfg->chunk_tokens % 16 != 0) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "chunk_tokens must be 0 or a positive multiple of 16, got %d", cfg->chunk_tokens);
    }
    if (tokens > 0 && (targets == NULL || adv == NULL || old == NULL || weights == NULL || (cfg->beta > 0 && ref == NULL))) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "targets, advantages, old log-probs, weights%s must not be NULL",
                cfg->beta > 0 ? " and reference log-probs (beta > 0)" : "");
    }
    int rc = check_tokens(h, hidden, targets, tokens, err);
    if (rc == MMUPT_OK) rc = check_finite(adv, tokens, "advantages", err);
    if (rc == MMUPT_OK) rc = check_finite(old, tokens, "old_logp", err);
    if (rc == MMUPT_OK) rc = check_finite(weights, tokens, "weights", err);
    if (rc == MMUPT_OK && cfg->beta > 0) rc = check_finite(ref, tokens, "ref_logp", err);
    if (rc != MMUPT_OK) {
        return rc;
    }
    for (int t = 0; t < tokens; t++) {
        if (weights[t] < 0) {
            return set_error(err, MMUPT_ERR_ARGUMENT, t, "weights[%d] = %g is negative", t, (double) weights[t]);
        }
    }
    memset(metrics, 0, sizeof *metrics);
    h->last_workspace = 0;
    if (tokens == 0) {
        return ok(err);
    }
    int n = cfg->chunk_tokens > 0 ? cfg->chunk_tokens : auto_chunk(tokens);
    if (n > PAD16(tokens)) {
        n = PAD16(tokens);
    }
    int P = h->partitions, S = workers_for(h, tokens);
    size_t rp = (size_t) (h->rank_pad > 0 ? h->rank_pad : 16);
    size_t rk = (size_t) (h->rank > 0 ? h->rank : 1);
    size_t bytes = forward_workspace(h, P, S, n) + 2 * chunk_bytes(h, n, 1)
            + arena_piece((size_t) h->vocab * n * sizeof(float))                  /* chunk logits */
            + 2 * arena_piece((size_t) n * sizeof(float))                         /* lse, coef */
            + (grad_hidden != NULL ? arena_piece((size_t) S * n * h->hidden_pad * sizeof(float))
                    + arena_piece((size_t) n * h->hidden_pad * sizeof(float)) : 0)
            + (h->rank > 0 ? arena_piece((size_t) S * n * rp * sizeof(float)) + arena_piece((size_t) n * rp * sizeof(float))
                    + arena_piece(rk * n * sizeof(float)) : 0)
            + (h->weight_bf16 != NULL ? 2 * arena_piece((size_t) S * h->block_rows * n * sizeof(uint16_t)) : 0);
    arena a = {aligned_zalloc(bytes), bytes, 0};
    if (a.base == NULL) {
        return set_error(err, MMUPT_ERR_MEMORY, -1, "out of memory for %zu bytes of workspace", bytes);
    }
    h->last_workspace = bytes;
    train_ctx c;
    memset(&c, 0, sizeof c);
    c.f.h = h;
    c.f.partitions = P;
    c.f.slots = S;
    c.f.ntok = n;
    c.f.inv_temperature = (float) (1.0 / cfg->temperature);
    forward_carve(&c.f, &a);
    chunk_carve(&c.buf[0], &a, h, n, 1);
    chunk_carve(&c.buf[1], &a, h, n, 1);
    c.f.chunk_z = arena_take(&a, (size_t) h->vocab * n * sizeof(float));
    c.lse = arena_take(&a, (size_t) n * sizeof(float));
    c.coef = arena_take(&a, (size_t) n * sizeof(float));
    if (grad_hidden != NULL) {
        c.dh_part = arena_take(&a, (size_t) S * n * h->hidden_pad * sizeof(float));
        c.dh_sum = arena_take(&a, (size_t) n * h->hidden_pad * sizeof(float));
    }
    if (h->rank > 0) {
        c.gu_part = arena_take(&a, (size_t) S * n * rp * sizeof(float));
        c.gu_sum = arena_take(&a, (size_t) n * rp * sizeof(float));
        c.guT = arena_take(&a, rk * n * sizeof(float));
    }
    if (h->weight_bf16 != NULL) {
        c.dz_bf16 = arena_take(&a, (size_t) S * h->block_rows * n * sizeof(uint16_t));
        c.dz_pairs = arena_take(&a, (size_t) S * h->block_rows * n * sizeof(uint16_t));
    }
    c.cfg = cfg;
    c.hidden = hidden;
    c.targets = targets;
    c.adv = adv;
    c.old = old;
    c.ref = cfg->beta > 0 ? ref : NULL;
    c.weights = weights;
    c.tokens = tokens;
    c.logp_out = logp;
    c.entropy_out = entropy;
    c.dh_out = grad_hidden;
    rc = team_run(S, train_worker, &c, err);
    free(a.base);
    if (rc != MMUPT_OK) {
        return rc;
    }
    *metrics = c.metrics;
    return ok(err);
}

/* ------------------------------------------------------------------------------------------ update */

static size_t trained_size(const mmupt_head *h, int k) {
    if (h->rank == 0) {
        return (size_t) h->vocab * h->hidden_pad;
    }
    return k == 0 ? (size_t) h->rank * h->hidden_pad : (size_t) h->vocab * h->rank_pad;
}

static float *trained_values(const mmupt_head *h, int k) {
    return h->rank == 0 ? h->weight : (k == 0 ? h->lora_a : h->lora_b);
}

int mmupt_head_zero_grad(mmupt_head *h, mmupt_error *err) {
    if (h == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head is NULL");
    }
    if (!h->trainable) {
        return set_error(err, MMUPT_ERR_STATE, -1, "this head is frozen (created with trainable = 0)");
    }
    int tensors = h->rank > 0 ? 2 : 1;
    for (int k = 0; k < tensors; k++) {
        memset(h->grad[k], 0, trained_size(h, k) * sizeof(float));
    }
    return ok(err);
}

int mmupt_head_update(mmupt_head *h, const mmupt_adamw_config *cfg, mmupt_update_result *out, mmupt_error *err) {
    if (h == NULL || cfg == NULL || out == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "head, config and result must not be NULL");
    }
    if (!h->trainable) {
        return set_error(err, MMUPT_ERR_STATE, -1, "this head is frozen (created with trainable = 0)");
    }
    if (!(cfg->learning_rate > 0) || !(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1)
            || !(cfg->epsilon > 0) || !(cfg->weight_decay >= 0) || !(cfg->max_grad_norm > 0)
            || !(cfg->other_sumsq >= 0 || isnan(cfg->other_sumsq))) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "AdamW needs lr > 0, betas in [0, 1), eps > 0, decay >= 0, max norm > 0, "
                "other sum of squares >= 0 (or NaN for a non-finite gradient elsewhere)");
    }
    int tensors = h->rank > 0 ? 2 : 1;
    double sumsq = cfg->other_sumsq;
    for (int k = 0; k < tensors; k++) {
        sumsq += h->isa->sumsq(h->grad[k], trained_size(h, k));
    }
    double norm = sqrt(sumsq);
    out->grad_norm = norm;
    if (!isfinite(norm)) {
        out->step = h->step;
        out->clip_scale = NAN;
        out->skipped = 1;
        mmupt_head_zero_grad(h, NULL);
        return ok(err);
    }
    double coef = cfg->max_grad_norm / (norm + 1e-6);
    double scale = coef < 1.0 ? coef : 1.0;
    h->step++;
    mmupt_adamw_step s;
    s.beta1 = (float) cfg->beta1;
    s.beta2 = (float) cfg->beta2;
    s.inv_correction1 = (float) (1.0 / (1.0 - pow(cfg->beta1, (double) h->step)));
    s.inv_correction2 = (float) (1.0 / (1.0 - pow(cfg->beta2, (double) h->step)));
    s.epsilon = (float) cfg->epsilon;
    s.learning_rate = (float) cfg->learning_rate;
    s.decay = (float) (1.0 - cfg->learning_rate * cfg->weight_decay);
    s.grad_scale = (float) scale;
    /* Accept the step only if every value it writes is finite: a non-finite weight or moment (a corrupt state
     * restored, an overflow) would otherwise poison every later step and checkpoint. */
    for (int k = 0; k < tensors; k++) {
        if (!h->isa->adamw_finite(trained_values(h, k), h->grad[k], h->adam_m[k], h->adam_v[k], trained_size(h, k), &s)) {
            h->step--;
            out->step = h->step;
            out->clip_scale = NAN;
            out->skipped = 1;
            mmupt_head_zero_grad(h, NULL);
            return ok(err);
        }
    }
    for (int k = 0; k < tensors; k++) {
        h->isa->adamw(trained_values(h, k), h->grad[k], h->adam_m[k], h->adam_v[k], trained_size(h, k), &s);
    }
    if (h->rank == 0) {
        refresh_bf16(h, 0, (size_t) h->vocab);
    }
    mmupt_head_zero_grad(h, NULL);
    out->step = h->step;
    out->clip_scale = scale;
    out->skipped = 0;
    return ok(err);
}

/* ------------------------------------------------------------------ DPO */

/* log(1 + e^x) and 1 / (1 + e^-x) in forms that never overflow. */
static double dpo_softplus(double x) {
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double dpo_sigmoid(double x) {
    if (x >= 0) {
        return 1.0 / (1.0 + exp(-x));
    }
    double e = exp(x);
    return e / (1.0 + e);
}

int mmupt_dpo_pairs(const double *chosen, const double *rejected, const double *ref_chosen, const double *ref_rejected,
        int pairs, double beta, double *coef_chosen, double *coef_rejected, double *loss, double *margin_mean,
        double *accuracy, mmupt_error *err) {
    if (chosen == NULL || rejected == NULL || ref_chosen == NULL || ref_rejected == NULL || coef_chosen == NULL
            || coef_rejected == NULL) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "DPO needs the four log-prob arrays and both coefficient arrays");
    }
    if (pairs < 1) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "DPO needs at least one pair, got %d", pairs);
    }
    if (!(beta > 0) || !isfinite(beta)) {
        return set_error(err, MMUPT_ERR_ARGUMENT, -1, "DPO's beta must be finite and > 0, got %g", beta);
    }
    for (int i = 0; i < pairs; i++) {
        double m = (chosen[i] - ref_chosen[i]) - (rejected[i] - ref_rejected[i]);
        if (!isfinite(m)) {
            return set_error(err, MMUPT_ERR_NONFINITE, i, "pair %d has a non-finite log-prob (chosen %g, rejected %g, "
                    "reference %g, %g)", i, chosen[i], rejected[i], ref_chosen[i], ref_rejected[i]);
        }
        if (!isfinite(beta * m)) {
            return set_error(err, MMUPT_ERR_NONFINITE, i, "pair %d: beta %g times its margin %g overflows", i, beta, m);
        }
    }
    /* inputs all checked: only now are the outputs written */
    double total = 0, margins = 0;
    long long right = 0;
    for (int i = 0; i < pairs; i++) {
        double m = (chosen[i] - ref_chosen[i]) - (rejected[i] - ref_rejected[i]);
        double x = beta * m;
        total += dpo_softplus(-x);
        double g = beta * dpo_sigmoid(-x) / pairs;
        coef_chosen[i] = -g;
        coef_rejected[i] = g;
        margins += m;
        right += m > 0;
    }
    if (loss != NULL) {
        *loss = total / pairs;
    }
    if (margin_mean != NULL) {
        *margin_mean = margins / pairs;
    }
    if (accuracy != NULL) {
        *accuracy = (double) right / pairs;
    }
    return ok(err);
}
