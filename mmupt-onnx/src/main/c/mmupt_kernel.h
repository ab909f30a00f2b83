/*
 * mmupt_kernel: the fused LM head + log-softmax + GRPO loss kernel, plain C (no JNI types).
 *
 * Dimensions, stated once:
 *   T  tokens of a call (response tokens only)      d  hidden width
 *   V  vocabulary rows of the head                  r  LoRA rank (0 for a full head)
 * Layouts are row-major: hidden [T x d], W and W0 [V x d], A [r x d], B [V x r], logits [T x V].
 *
 * A head (mmupt_head) owns its parameters and, when trainable, its accumulated gradient and AdamW moments.
 * Logits z = W h (full) or W0 h + (alpha / r) B (A h) (LoRA); log-probs are of softmax(z / temperature).
 *
 * The loss of train mode is the GRPO loss of the Java reference (io.github.mmupt.grpo.TokenLoss): per token
 *   L_t = max(-A r, -A clip(r, 1 - low, 1 + high)) [min(., -A c) when A < 0] + beta KL(logp_ref - logp),
 * weighted by w_t (aggregation weights computed by the caller); gradients accumulate over calls until
 * mmupt_head_update applies global-norm clipping and AdamW.
 *
 * Memory: train mode works on chunks of tokens and never holds a [T x V] buffer; its workspace is
 * O(chunk x V + threads x chunk x d) and is reported by mmupt_head_last_workspace_bytes.
 *
 * Threading: a head is used by one caller thread at a time; calls run on the head's worker threads.
 * Every entry validates its arguments and reports failures in an mmupt_error; nothing is partially written
 * to the head when a call fails.
 */
#ifndef MMUPT_KERNEL_H
#define MMUPT_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MMUPT_OK = 0,
    MMUPT_ERR_ARGUMENT = 1,   /* a null pointer, a bad size or an out-of-range id */
    MMUPT_ERR_NONFINITE = 2,  /* NaN or infinity in an input; index names the element */
    MMUPT_ERR_MEMORY = 3,     /* allocation failed */
    MMUPT_ERR_STATE = 4,      /* the call does not fit the head (e.g. training a frozen head) */
    MMUPT_ERR_THREAD = 5      /* a worker thread could not be started */
} mmupt_status;

typedef struct {
    mmupt_status status;
    long long index;          /* the offending element, or -1 */
    char message[256];
} mmupt_error;

typedef struct mmupt_head mmupt_head;

typedef struct {
    int vocab;                /* V */
    int hidden;               /* d */
    int rank;                 /* r; 0 for a full head */
    float alpha;              /* LoRA alpha; the scale is alpha / r */
    int trainable;            /* keep a gradient and AdamW moments */
    int threads;              /* worker threads; 0 = online CPUs */
    const char *isa;          /* "avx512", "avx2", "generic", or NULL for the best the CPU supports */
} mmupt_head_desc;

/* Tensors of a head, and which copy of them. */
typedef enum { MMUPT_TENSOR_WEIGHT = 0, MMUPT_TENSOR_LORA_A = 1, MMUPT_TENSOR_LORA_B = 2 } mmupt_tensor;
typedef enum { MMUPT_PART_VALUE = 0, MMUPT_PART_GRAD = 1, MMUPT_PART_ADAM_M = 2, MMUPT_PART_ADAM_V = 3 } mmupt_part;

typedef enum { MMUPT_KL_K1 = 1, MMUPT_KL_K2 = 2, MMUPT_KL_K3 = 3 } mmupt_kl_estimator;

typedef struct {
    double temperature;
    double clip_low, clip_high;
    double dual_clip;         /* > 1; INFINITY turns it off */
    double beta;              /* KL weight; 0 turns the KL term off (ref_logp may then be NULL) */
    int kl_estimator;         /* mmupt_kl_estimator */
    int kl_clamps;            /* EasyR1's clamps (K3 only) */
    int chunk_tokens;         /* tokens per chunk, a multiple of 16; 0 = automatic */
} mmupt_loss_config;

typedef struct {
    double loss, policy_loss, kl_loss;
    long long tokens;         /* tokens with weight > 0 */
    double kl_sum, entropy_sum, drift_sum;
    long long clipped_high, clipped_low, clipped_dual;
} mmupt_loss_metrics;

typedef struct {
    double learning_rate, beta1, beta2, epsilon, weight_decay, max_grad_norm;
    /* sum of squares of gradients outside this head that share its global-norm clip (trunk adapters); 0 when
     * the head is all that trains. The norm, the clip scale and the skip decision then cover both. */
    double other_sumsq;
} mmupt_adamw_config;

typedef struct {
    long long step;           /* updates applied so far */
    double grad_norm;         /* before clipping */
    double clip_scale;        /* applied to the gradient; NaN when skipped */
    int skipped;              /* 1 when the gradient, or a value the step would write, was not finite: nothing changed */
} mmupt_update_result;

/* Creates a head with zero parameters; NULL on failure (see err). */
mmupt_head *mmupt_head_create(const mmupt_head_desc *desc, mmupt_error *err);
/* Frees everything the head owns; NULL is allowed. */
void mmupt_head_destroy(mmupt_head *head);

/* Copies a tensor part in or out: WEIGHT [V x d], LORA_A [r x d], LORA_B [V x r]. GRAD and ADAM parts exist
 * for trainable heads and for the trained tensors only (WEIGHT of a full head; LORA_A and LORA_B). */
int mmupt_head_write(mmupt_head *head, mmupt_tensor tensor, mmupt_part part, const float *values, mmupt_error *err);
int mmupt_head_read(const mmupt_head *head, mmupt_tensor tensor, mmupt_part part, float *values, mmupt_error *err);
/* The same for rows [first_row, first_row + row_count) only, so that a head of any size moves through a bounded
 * buffer; values holds row_count rows of the tensor's width. */
int mmupt_head_write_rows(mmupt_head *head, mmupt_tensor tensor, mmupt_part part, long long first_row,
        long long row_count, const float *values, mmupt_error *err);
int mmupt_head_read_rows(const mmupt_head *head, mmupt_tensor tensor, mmupt_part part, long long first_row,
        long long row_count, float *values, mmupt_error *err);
/* Bytes mmupt_head_create allocates for a head of this shape (weights, LoRA factors, gradient, AdamW moments,
 * bf16 copies when isa is "avx512bf16"), or -1 for an invalid shape: check before creating. */
long long mmupt_head_bytes(int vocab, int hidden, int rank, int trainable, const char *isa);
/* What this head allocated for its tensors (equal to mmupt_head_bytes of its description). */
size_t mmupt_head_owned_bytes(const mmupt_head *head);
long long mmupt_head_step(const mmupt_head *head);
int mmupt_head_set_step(mmupt_head *head, long long step, mmupt_error *err);

/* Score mode: logp [T] and entropy [T] (either may be NULL) of targets [T] under softmax(W h / temperature). */
int mmupt_head_score(mmupt_head *head, const float *hidden, const int32_t *targets, int tokens, double temperature,
        float *logp, float *entropy, mmupt_error *err);

/* Draws one token per row of logits [rows x V] from softmax(z / temperature), with uniform[r] in [0, 1): the
 * first token whose cumulative weight, in id order, passes uniform[r] times the total. banned tokens (stop tokens
 * before minNewTokens) get weight 0. top_p in (0, 1]: below 1 only the nucleus keeps its weight (the fewest
 * heaviest tokens whose probability reaches top_p, ties by lower id, as a stable descending sort picks them;
 * found by a radix select, not a sort of the vocabulary). Rows are overwritten by their weights. out[r]: the
 * token, -1 when the row cannot be sampled (a NaN or +Inf logit, or no token left), -2 when skip[r] is set (skip
 * may be NULL). */
int mmupt_head_draw(const mmupt_head *head, float *logits, int rows, double temperature, double top_p,
        const double *uniform, const int32_t *banned, int banned_count, const uint8_t *skip, int32_t *out,
        mmupt_error *err);

/* Raw logits [T x V] = W h (no temperature), for sampling. */
int mmupt_head_logits(mmupt_head *head, const float *hidden, int tokens, float *logits, mmupt_error *err);

/* Train mode: adds dL/dtheta of L = sum_t weights[t] L_t to the head's gradient; writes logp, entropy
 * [T] and grad_hidden [T x d] = dL/dh when not NULL; metrics summed over the call. */
int mmupt_head_train(mmupt_head *head, const mmupt_loss_config *config, const float *hidden, const int32_t *targets,
        const float *advantages, const float *old_logp, const float *ref_logp, const float *weights, int tokens,
        float *logp, float *entropy, float *grad_hidden, mmupt_loss_metrics *metrics, mmupt_error *err);

/* Global-norm clipping and one AdamW step, then the gradient is cleared. A non-finite gradient, or a step that
 * would write a non-finite parameter or moment, is cleared without an update (result->skipped = 1). */
int mmupt_head_update(mmupt_head *head, const mmupt_adamw_config *config, mmupt_update_result *result,
        mmupt_error *err);
int mmupt_head_zero_grad(mmupt_head *head, mmupt_error *err);

/* DPO over `pairs` preference pairs from their sequence log-probs (double; sums over each response's tokens):
 *   m_i = (chosen_i - ref_chosen_i) - (rejected_i - ref_rejected_i),  loss = mean_i softplus(-beta m_i),
 *   coef_chosen_i = dL/dchosen_i = -beta sigmoid(-beta m_i) / pairs = -coef_rejected_i.
 * Stable for any finite margin. The gradient of the head follows from train mode with advantage -coef on each
 * token of the sequence at ratio 1 (io.github.mmupt.grpo.DpoLoss.surrogate). loss, margin_mean and accuracy
 * (share of positive margins) may be NULL. Fails on pairs < 1, beta not finite and > 0, or a non-finite input
 * (index names the pair). Uses no head: DPO's coefficients are the same for every head. */
int mmupt_dpo_pairs(const double *chosen, const double *rejected, const double *ref_chosen, const double *ref_rejected,
        int pairs, double beta, double *coef_chosen, double *coef_rejected, double *loss, double *margin_mean,
        double *accuracy, mmupt_error *err);

/* The head's own dimensions, which every buffer size is checked against (never the caller's claims). */
void mmupt_head_dims(const mmupt_head *head, int *vocab, int *hidden, int *rank);
/* Bytes of scratch memory the last score, logits or train call allocated (its peak). */
size_t mmupt_head_last_workspace_bytes(const mmupt_head *head);
/* The instruction set in use: "avx512", "avx2" or "generic". */
const char *mmupt_head_isa(const mmupt_head *head);
int mmupt_head_threads(const mmupt_head *head);

#ifdef __cplusplus
}
#endif

#endif
