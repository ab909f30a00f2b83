/* The table of compute routines one instruction set provides (see kernel_impl.h for their contracts). */
#ifndef MMUPT_KERNEL_ISA_H
#define MMUPT_KERNEL_ISA_H

#include <stddef.h>

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
} mmupt_isa;

#if defined(__x86_64__)
extern const mmupt_isa mmupt_isa_avx512;
extern const mmupt_isa mmupt_isa_avx2;
#elif defined(__aarch64__)
extern const mmupt_isa mmupt_isa_neon;
#endif
extern const mmupt_isa mmupt_isa_generic;

#endif
