/* The table of compute routines one instruction set provides (see kernel_impl.h for their contracts). */
#ifndef MMUPT_KERNEL_ISA_H
#define MMUPT_KERNEL_ISA_H

#include <stddef.h>
#include <stdint.h>

#define MMUPT_DRAW_BLOCK 256

typedef struct {
    float beta1, beta2, inv_correction1, inv_correction2, epsilon, learning_rate, decay, grad_scale;
} mmupt_adamw_step;

typedef struct {
    const char *name;
    void (*gemm_logits)(const float *W, size_t ldw, const float *hT, size_t ldh, int k, int rows, int ntok,
            float *zT, size_t ldz, float scale, int accumulate);
    void (*gemm_dh)(const float *dzT, size_t lddz, const float *W, size_t ldw, int rows, int ntok, int kp,
            float *dh, size_t lddh, float scale);
    void (*gemm_dw)(const float *dzT, size_t lddz, const float *h, size_t ldh, int rows, int ntok, int kp,
            float *dW, size_t lddw, float scale);
    void (*block_stats)(const float *zT, size_t ldz, int rows, int ntok, float *bm, float *bs, float *be);
    void (*softmax_grad)(float *zT, size_t ldz, int rows, int ntok, const float *lse, const float *coef);
    void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, const mmupt_adamw_step *step);
    /* 1 when the AdamW step above would leave every parameter, moment and second moment finite (nothing is written) */
    int (*adamw_finite)(const float *p, const float *g, const float *m, const float *v, size_t n,
            const mmupt_adamw_step *step);
    double (*sumsq)(const float *g, size_t n);
    /* sampling: the largest of z[0..n); and z[i] <- exp((z[i] - shift) * scale) in place with the float sum of
     * each block of MMUPT_DRAW_BLOCK weights */
    float (*row_max)(const float *z, size_t n);
    void (*exp_weights)(float *z, size_t n, float shift, float scale, float *block_sums);
    /*
     * bf16 products with fp32 accumulation (the avx512bf16 table only; NULL elsewhere). Operands are uint16_t
     * bf16 values; a "pair" layout interleaves two rows element by element, (rows/2, n, 2), so that the
     * reduction pairs of VDPBF16PS lie side by side:
     *   logits: zT += scale * W hT      W (rows, ldw) row-major, hTp the pairs of hT's rows (k/2, ldh, 2), k even
     *   dh     += scale * dz^T W        dzp the pairs of dzT's rows (rows/2, lddz, 2), Wp W's row pairs (rows/2, ldw, 2)
     *   dW     += scale * dz h          dzb dzT (rows, lddz), hp the pairs of h's rows (ntok/2, ldh, 2)
     * rows may be odd for dh: the pair layouts then end in a zero row.
     */
    void (*gemm_logits_bf16)(const uint16_t *W, size_t ldw, const uint16_t *hTp, size_t ldh, int k, int rows,
            int ntok, float *zT, size_t ldz, float scale, int accumulate);
    void (*gemm_dh_bf16)(const uint16_t *dzp, size_t lddz, const uint16_t *Wp, size_t ldw, int rows, int ntok, int kp,
            float *dh, size_t lddh, float scale);
    void (*gemm_dw_bf16)(const uint16_t *dzb, size_t lddz, const uint16_t *hp, size_t ldh, int rows, int ntok, int kp,
            float *dW, size_t lddw, float scale);
    /* out[i] = bf16(x[i]), round to nearest even, for n values */
    void (*to_bf16)(const float *x, uint16_t *out, size_t n);
    /* The rows of x [rows x len] (contiguous) in pairs, for VDPBF16PS: out [ceil(rows / 2) x len x 2] with
     * out[(r / 2) len 2 + 2 i + r % 2] = bf16(x[r len + i]); an odd last row is paired with zeros */
    void (*to_bf16_row_pairs)(const float *x, int rows, size_t len, uint16_t *out);
} mmupt_isa;

#if defined(__x86_64__)
extern const mmupt_isa mmupt_isa_avx512;
extern const mmupt_isa mmupt_isa_avx512bf16;
extern const mmupt_isa mmupt_isa_avx2;
#elif defined(__aarch64__)
extern const mmupt_isa mmupt_isa_neon;
#endif
extern const mmupt_isa mmupt_isa_generic;

#endif
