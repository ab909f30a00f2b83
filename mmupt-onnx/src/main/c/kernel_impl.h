/*
 * The compute routines of the kernel, written once against simd.h and compiled once per instruction set
 * (kernel_avx512.c, kernel_avx2.c, kernel_generic.c), each defining KSUFFIX. kernel.c picks one table at
 * run time. Shapes: V vocab rows, T tokens of a chunk (a multiple of 16, so of every VLEN), k the reduction
 * length (d, or the LoRA rank r), kp the padded width of row-major [.. x kp] operands (a multiple of 16).
 *
 * Token-major layout: logits are held transposed, zT [rows x ntok], so that SIMD lanes run along tokens and
 * every reduction over the vocabulary (max, softmax sums) is a plain vector loop.
 */
#include <stddef.h>
#include "kernel_isa.h"
#include "simd.h"

#define KCAT2(a, b) a##b
#define KCAT(a, b) KCAT2(a, b)
#define KFN(name) KCAT(name, KSUFFIX)

#if VLEN == 16
#define NV_LOGITS 3   /* 8 x 3 = 24 accumulators of 32 zmm */
#define MR_LOGITS 8
#ifndef MR_DH
#define MR_DH 8       /* 8 x 3: 8 tokens divide every chunk (a multiple of 16) */
#define NV_DH 3
#endif
#ifndef MR_DW
#define MR_DW 8       /* 8 x 3 */
#define NV_DW 3
#endif
#else
#define NV_LOGITS 2   /* 6 x 2 = 12 accumulators of 16 ymm */
#define MR_LOGITS 6
#define MR_DH 4       /* 4 x 3 */
#define NV_DH 3
#define MR_DW 4       /* 4 x 3 */
#define NV_DW 3
#endif

/* ---------------------------------------------------------------- logits: zT = scale * W hT (+ zT)
 * W [rows x ldw] row-major, hT [k x ldh] (column t of hT is token t), zT [rows x ldz] */

#define DEFINE_LOGITS_TILE(MR, NV)                                                                      \
    static inline void KFN(logits_tile_##MR##_##NV)(const float *W, size_t ldw, const float *hT,        \
            size_t ldh, int k, float *zT, size_t ldz, float scale, int accumulate) {                  \
        vf acc[MR][NV];                                                                               \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++) acc[r][c] = v_zero();                \
        for (int j = 0; j < k; j++) {                                                                 \
            vf h[NV];                                                                                 \
            _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++) h[c] = v_load(hT + (size_t) j * ldh + c * VLEN); \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                    \
                vf w = v_set1(W[(size_t) r * ldw + j]);                                               \
                _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++) acc[r][c] = v_fma(w, h[c], acc[r][c]); \
            }                                                                                         \
        }                                                                                             \
        vf s = v_set1(scale);                                                                         \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++) {                                    \
                float *out = zT + (size_t) r * ldz + c * VLEN;                                        \
                vf v = v_mul(acc[r][c], s);                                                           \
                v_store(out, accumulate ? v_add(v_load(out), v) : v);                                 \
            }                                                                                         \
    }

DEFINE_LOGITS_TILE(MR_LOGITS, NV_LOGITS)
DEFINE_LOGITS_TILE(MR_LOGITS, 1)
DEFINE_LOGITS_TILE(1, NV_LOGITS)
DEFINE_LOGITS_TILE(1, 1)
#if NV_LOGITS > 2
DEFINE_LOGITS_TILE(MR_LOGITS, 2)
DEFINE_LOGITS_TILE(1, 2)
#endif

static void KFN(gemm_logits)(const float *W, size_t ldw, const float *hT, size_t ldh, int k, int rows,
        int ntok, float *zT, size_t ldz, float scale, int accumulate) {
    int nvec = ntok / VLEN;
    for (int c0 = 0; c0 < nvec;) {
        int nv = nvec - c0 >= NV_LOGITS ? NV_LOGITS : (nvec - c0 >= 2 ? 2 : 1);
        const float *h = hT + (size_t) c0 * VLEN;
        float *z = zT + (size_t) c0 * VLEN;
        int r = 0;
        for (; r + MR_LOGITS <= rows; r += MR_LOGITS) {
            const float *w = W + (size_t) r * ldw;
            float *o = z + (size_t) r * ldz;
            if (nv == NV_LOGITS) KFN(logits_tile_MR_LOGITS_NV_LOGITS)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
#if NV_LOGITS > 2
            else if (nv == 2) KFN(logits_tile_MR_LOGITS_2)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
#endif
            else KFN(logits_tile_MR_LOGITS_1)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
        }
        for (; r < rows; r++) {
            const float *w = W + (size_t) r * ldw;
            float *o = z + (size_t) r * ldz;
            if (nv == NV_LOGITS) KFN(logits_tile_1_NV_LOGITS)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
#if NV_LOGITS > 2
            else if (nv == 2) KFN(logits_tile_1_2)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
#endif
            else KFN(logits_tile_1_1)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
        }
        c0 += nv;
    }
}

#ifndef DW_PREFETCH
#define DW_PREFETCH 0
#endif
#ifndef DH_PREFETCH
#define DH_PREFETCH 12
#endif

/* ---------------------------------------------------------------- dh [ntok x kp] += scale * dzT^T W
 * dzT [rows x lddz], W [rows x ldw]; kp a multiple of VLEN */

#define DEFINE_DH_TILE(MR, NV)                                                                          \
    static inline void KFN(dh_tile_##MR##_##NV)(const float *dzT, size_t lddz, const float *W, size_t ldw, \
            int rows, float *dh, size_t lddh, float scale) {                                           \
        vf acc[MR][NV];                                                                               \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = v_zero();                \
        for (int v = 0; v < rows; v++) {                                                              \
            vf w[NV];                                                                                 \
            /* the strip walks down rows d floats apart: prefetch ahead, the hardware does not */        \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++)                                      \
                v_prefetch(W + (size_t) (v + DH_PREFETCH) * ldw + c * VLEN);                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) w[c] = v_load(W + (size_t) v * ldw + c * VLEN); \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                    \
                vf g = v_set1(dzT[(size_t) v * lddz + r]);                                            \
                _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = v_fma(g, w[c], acc[r][c]); \
            }                                                                                         \
        }                                                                                             \
        vf s = v_set1(scale);                                                                         \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) {                                    \
                float *out = dh + (size_t) r * lddh + c * VLEN;                                       \
                v_store(out, v_fma(acc[r][c], s, v_load(out)));                                       \
            }                                                                                         \
    }

DEFINE_DH_TILE(MR_DH, NV_DH)
DEFINE_DH_TILE(MR_DH, 1)
DEFINE_DH_TILE(1, NV_DH)
DEFINE_DH_TILE(1, 1)

static void KFN(gemm_dh)(const float *dzT, size_t lddz, const float *W, size_t ldw, int rows, int ntok, int kp,
        float *dh, size_t lddh, float scale) {
    /* column strips outside, tokens inside: a strip of W (rows x NV_DH vectors) stays in L1 for every token tile */
    int nvec = kp / VLEN;
    int c = 0;
    for (; c + NV_DH <= nvec; c += NV_DH) {
        int t = 0;
        for (; t + MR_DH <= ntok; t += MR_DH)
            KFN(dh_tile_MR_DH_NV_DH)(dzT + t, lddz, W + c * VLEN, ldw, rows, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
        for (; t < ntok; t++)
            KFN(dh_tile_1_NV_DH)(dzT + t, lddz, W + c * VLEN, ldw, rows, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
    }
    for (; c < nvec; c++) {
        int t = 0;
        for (; t + MR_DH <= ntok; t += MR_DH)
            KFN(dh_tile_MR_DH_1)(dzT + t, lddz, W + c * VLEN, ldw, rows, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
        for (; t < ntok; t++)
            KFN(dh_tile_1_1)(dzT + t, lddz, W + c * VLEN, ldw, rows, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
    }
}

/* ---------------------------------------------------------------- dW [rows x kp] += scale * dzT h
 * dzT [rows x lddz], h [ntok x ldh] row-major */

#define DEFINE_DW_TILE(MR, NV)                                                                          \
    static inline void KFN(dw_tile_##MR##_##NV)(const float *dzT, size_t lddz, const float *h, size_t ldh, \
            int ntok, float *dW, size_t lddw, float scale) {                                           \
        vf acc[MR][NV];                                                                               \
        /* dW is read at the end of the tile: start fetching it (DW_PREFETCH strips ahead) behind the FMAs */ \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++)                                      \
                v_prefetch(dW + (size_t) r * lddw + (c + DW_PREFETCH * NV) * VLEN);                    \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = v_zero();                \
        for (int t = 0; t < ntok; t++) {                                                              \
            vf x[NV];                                                                                 \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) x[c] = v_load(h + (size_t) t * ldh + c * VLEN); \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                    \
                vf g = v_set1(dzT[(size_t) r * lddz + t]);                                            \
                _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = v_fma(g, x[c], acc[r][c]); \
            }                                                                                         \
        }                                                                                             \
        vf s = v_set1(scale);                                                                         \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) {                                    \
                float *out = dW + (size_t) r * lddw + c * VLEN;                                       \
                v_store(out, v_fma(acc[r][c], s, v_load(out)));                                       \
            }                                                                                         \
    }

DEFINE_DW_TILE(MR_DW, NV_DW)
DEFINE_DW_TILE(MR_DW, 1)
DEFINE_DW_TILE(1, NV_DW)
DEFINE_DW_TILE(1, 1)

static void KFN(gemm_dw)(const float *dzT, size_t lddz, const float *h, size_t ldh, int rows, int ntok, int kp,
        float *dW, size_t lddw, float scale) {
    int nvec = kp / VLEN;
    int r = 0;
    for (; r + MR_DW <= rows; r += MR_DW) {
        int c = 0;
        for (; c + NV_DW <= nvec; c += NV_DW)
            KFN(dw_tile_MR_DW_NV_DW)(dzT + (size_t) r * lddz, lddz, h + c * VLEN, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
        for (; c < nvec; c++)
            KFN(dw_tile_MR_DW_1)(dzT + (size_t) r * lddz, lddz, h + c * VLEN, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
    }
    for (; r < rows; r++) {
        int c = 0;
        for (; c + NV_DW <= nvec; c += NV_DW)
            KFN(dw_tile_1_NV_DW)(dzT + (size_t) r * lddz, lddz, h + c * VLEN, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
        for (; c < nvec; c++)
            KFN(dw_tile_1_1)(dzT + (size_t) r * lddz, lddz, h + c * VLEN, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
    }
}

/* ---------------------------------------------------------------- softmax statistics of a block
 * For every token (lane) of zT [rows x ntok]: bm = max_v z, bs = sum_v exp(z - bm), be = sum_v exp(z - bm) z */
static void KFN(block_stats)(const float *zT, size_t ldz, int rows, int ntok, float *bm, float *bs, float *be) {
    for (int t = 0; t < ntok; t += VLEN) {
        vf m = v_set1(-INFINITY);
        for (int v = 0; v < rows; v++) m = v_max(m, v_load(zT + (size_t) v * ldz + t));
        vf s = v_zero(), e = v_zero();
        for (int v = 0; v < rows; v++) {
            vf z = v_load(zT + (size_t) v * ldz + t);
            vf p = v_exp(v_sub(z, m));
            s = v_add(s, p);
            e = v_fma(p, z, e);
        }
        v_store(bm + t, m);
        v_store(bs + t, s);
        v_store(be + t, e);
    }
}

/* zT[v][t] <- -coef[t] * exp(zT[v][t] - lse[t]): the softmax part of dL/dz (the one-hot part is added by
 * the caller at the target rows). */
static void KFN(softmax_grad)(float *zT, size_t ldz, int rows, int ntok, const float *lse, const float *coef) {
    for (int t = 0; t < ntok; t += VLEN) {
        vf l = v_load(lse + t);
        vf c = v_sub(v_zero(), v_load(coef + t));
        for (int v = 0; v < rows; v++) {
            float *p = zT + (size_t) v * ldz + t;
            v_store(p, v_mul(c, v_exp(v_sub(v_load(p), l))));
        }
    }
}

/* ---------------------------------------------------------------- optimizer
 * p <- p * decay - lr * (m_hat / (sqrt(v_hat) + eps)), after m, v updated with the gradient times gscale */
static void KFN(adamw)(float *p, const float *g, float *m, float *v, size_t n, const mmupt_adamw_step *s) {
    vf b1 = v_set1(s->beta1), nb1 = v_set1(1.0f - s->beta1), b2 = v_set1(s->beta2), nb2 = v_set1(1.0f - s->beta2);
    vf ic1 = v_set1(s->inv_correction1), ic2 = v_set1(s->inv_correction2), eps = v_set1(s->epsilon);
    vf lr = v_set1(s->learning_rate), decay = v_set1(s->decay), gs = v_set1(s->grad_scale);
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) {
        vf gr = v_mul(v_load(g + i), gs);
        vf mm = v_fma(b1, v_load(m + i), v_mul(nb1, gr));
        vf vv = v_fma(b2, v_load(v + i), v_mul(nb2, v_mul(gr, gr)));
        v_store(m + i, mm);
        v_store(v + i, vv);
        vf upd = v_div(v_mul(mm, ic1), v_add(v_sqrt(v_mul(vv, ic2)), eps));
        v_store(p + i, v_sub(v_mul(v_load(p + i), decay), v_mul(lr, upd)));
    }
    for (; i < n; i++) {
        float gr = g[i] * s->grad_scale;
        m[i] = s->beta1 * m[i] + (1.0f - s->beta1) * gr;
        v[i] = s->beta2 * v[i] + (1.0f - s->beta2) * gr * gr;
        p[i] = p[i] * s->decay - s->learning_rate * (m[i] * s->inv_correction1) / (sqrtf(v[i] * s->inv_correction2) + s->epsilon);
    }
}

/* The same arithmetic as adamw, without stores: x - x is 0 for a finite x and NaN otherwise, so the sum of
 * those differences is 0 exactly when every new value is finite. */
static int KFN(adamw_finite)(const float *p, const float *g, const float *m, const float *v, size_t n,
        const mmupt_adamw_step *s) {
    vf b1 = v_set1(s->beta1), nb1 = v_set1(1.0f - s->beta1), b2 = v_set1(s->beta2), nb2 = v_set1(1.0f - s->beta2);
    vf ic1 = v_set1(s->inv_correction1), ic2 = v_set1(s->inv_correction2), eps = v_set1(s->epsilon);
    vf lr = v_set1(s->learning_rate), decay = v_set1(s->decay), gs = v_set1(s->grad_scale);
    vf bad = v_zero();
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) {
        vf gr = v_mul(v_load(g + i), gs);
        vf mm = v_fma(b1, v_load(m + i), v_mul(nb1, gr));
        vf vv = v_fma(b2, v_load(v + i), v_mul(nb2, v_mul(gr, gr)));
        vf upd = v_div(v_mul(mm, ic1), v_add(v_sqrt(v_mul(vv, ic2)), eps));
        vf pp = v_sub(v_mul(v_load(p + i), decay), v_mul(lr, upd));
        bad = v_add(bad, v_add(v_sub(pp, pp), v_add(v_sub(mm, mm), v_sub(vv, vv))));
    }
    float tail = 0;
    for (; i < n; i++) {
        float gr = g[i] * s->grad_scale;
        float mm = s->beta1 * m[i] + (1.0f - s->beta1) * gr;
        float vv = s->beta2 * v[i] + (1.0f - s->beta2) * gr * gr;
        float pp = p[i] * s->decay - s->learning_rate * (mm * s->inv_correction1) / (sqrtf(vv * s->inv_correction2) + s->epsilon);
        tail += (pp - pp) + (mm - mm) + (vv - vv);
    }
    return v_hsum(bad) == 0.0f && tail == 0.0f;
}

/* sum of squares, in double across blocks of float partial sums */
static double KFN(sumsq)(const float *g, size_t n) {
    double total = 0;
    size_t i = 0;
    while (i + VLEN <= n) {
        size_t end = i + 4096 < n ? i + 4096 : n;
        vf acc = v_zero();
        for (; i + VLEN <= end; i += VLEN) {
            vf x = v_load(g + i);
            acc = v_fma(x, x, acc);
        }
        total += v_hsum(acc);
    }
    for (; i < n; i++) total += (double) g[i] * g[i];
    return total;
}

const mmupt_isa KFN(mmupt_isa_) = {
    .name = KISA_NAME,
    .gemm_logits = KFN(gemm_logits),
    .gemm_dh = KFN(gemm_dh),
    .gemm_dw = KFN(gemm_dw),
    .block_stats = KFN(block_stats),
    .softmax_grad = KFN(softmax_grad),
    .adamw = KFN(adamw),
    .adamw_finite = KFN(adamw_finite),
    .sumsq = KFN(sumsq),
};
