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

#ifndef KC_LOGITS
#define KC_LOGITS 512
#endif

static void KFN(gemm_logits_panel)(const float *W, size_t ldw, const float *hT, size_t ldh, int k, int rows,
        int ntok, float *zT, size_t ldz, float scale, int accumulate);

/* The reduction is cut into panels of KC_LOGITS: a panel of hT (KC_LOGITS x 48 tokens, 96 KB) stays in L1 and
 * the block's rows of W in L2 while every row tile passes over them; without it, at d = 2048 the hT strip of a
 * tile (d x 48 floats) came from L3 for every 8 rows of W. */
static void KFN(gemm_logits)(const float *W, size_t ldw, const float *hT, size_t ldh, int k, int rows,
        int ntok, float *zT, size_t ldz, float scale, int accumulate) {
    for (int k0 = 0; k0 < k; k0 += KC_LOGITS) {
        int kc = k - k0 < KC_LOGITS ? k - k0 : KC_LOGITS;
        KFN(gemm_logits_panel)(W + k0, ldw, hT + (size_t) k0 * ldh, ldh, kc, rows, ntok, zT, ldz, scale,
                k0 > 0 || accumulate);
    }
}

static void KFN(gemm_logits_panel)(const float *W, size_t ldw, const float *hT, size_t ldh, int k, int rows,
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

/* ---------------------------------------------------------------- sampling
 * The largest of z[0..n). A NaN may or may not survive the max (x86 and NEON differ); the caller catches it
 * in the weights' sum, which exp keeps NaN. */
static float KFN(row_max)(const float *z, size_t n) {
    vf m = v_set1(-INFINITY);
    size_t i = 0;
    for (; i + VLEN <= n; i += VLEN) m = v_max(v_load(z + i), m);
    float lanes[VLEN];
    v_store(lanes, m);
    float best = -INFINITY;
    for (int k = 0; k < VLEN; k++) best = lanes[k] != lanes[k] || lanes[k] > best ? lanes[k] : best;
    for (; i < n; i++) best = z[i] != z[i] || z[i] > best ? z[i] : best;
    return best;
}

/* z[i] <- exp((z[i] - shift) * scale) in place, and the float sum of every block of MMUPT_DRAW_BLOCK weights
 * into block_sums (a shorter last block). */
static void KFN(exp_weights)(float *z, size_t n, float shift, float scale, float *block_sums) {
    vf sh = v_set1(shift), sc = v_set1(scale);
    for (size_t b0 = 0, k = 0; b0 < n; b0 += MMUPT_DRAW_BLOCK, k++) {
        size_t b1 = b0 + MMUPT_DRAW_BLOCK < n ? b0 + MMUPT_DRAW_BLOCK : n;
        vf acc = v_zero();
        size_t i = b0;
        for (; i + VLEN <= b1; i += VLEN) {
            vf w = v_exp(v_mul(v_sub(v_load(z + i), sh), sc));
            v_store(z + i, w);
            acc = v_add(acc, w);
        }
        float sum = v_hsum(acc);
        if (i < b1) { /* the tail through a padded vector, so it is rounded like the rest */
            float tail[VLEN];
            for (int t = 0; t < VLEN; t++) tail[t] = i + t < b1 ? z[i + t] : shift;
            v_store(tail, v_exp(v_mul(v_sub(v_load(tail), sh), sc)));
            for (size_t t = 0; i + t < b1; t++) {
                z[i + t] = tail[t];
                sum += tail[t];
            }
        }
        block_sums[k] = sum;
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

#ifdef MMUPT_BF16
/* ---------------------------------------------------------------- bf16 products, fp32 accumulation
 * VDPBF16PS: acc[i] += a[2i] b[2i] + a[2i + 1] b[2i + 1] over 16 fp32 lanes, so each operand holds pairs of
 * the reduction index side by side. One of the pair operands is broadcast (a 32-bit pair), the other is a
 * vector of 16 pairs. The tiles have the fp32 tiles' shapes (MR x NV vectors of 16). */
#include <string.h>

static inline __m512 bf16_dot(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh) a, (__m512bh) b);
}

static inline __m512i bf16_pair_at(const uint16_t *p) {
    int32_t pair;
    memcpy(&pair, p, sizeof pair);
    return _mm512_set1_epi32(pair);
}

#define DEFINE_LOGITS_BF16_TILE(MR, NV)                                                                 \
    static inline void KFN(logits_bf16_tile_##MR##_##NV)(const uint16_t *W, size_t ldw, const uint16_t *hTp, \
            size_t ldh, int k, float *zT, size_t ldz, float scale, int accumulate) {                  \
        __m512 acc[MR][NV];                                                                           \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++) acc[r][c] = v_zero();                \
        for (int j = 0; j < k; j += 2) {                                                              \
            __m512i h[NV];                                                                            \
            _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++)                                      \
                h[c] = _mm512_loadu_si512(hTp + ((size_t) (j / 2) * ldh + c * VLEN) * 2);              \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                    \
                __m512i w = bf16_pair_at(W + (size_t) r * ldw + j);                                   \
                _Pragma("GCC unroll 4") for (int c = 0; c < NV; c++) acc[r][c] = bf16_dot(acc[r][c], w, h[c]); \
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

DEFINE_LOGITS_BF16_TILE(MR_LOGITS, NV_LOGITS)
DEFINE_LOGITS_BF16_TILE(MR_LOGITS, 2)
DEFINE_LOGITS_BF16_TILE(MR_LOGITS, 1)
DEFINE_LOGITS_BF16_TILE(1, NV_LOGITS)
DEFINE_LOGITS_BF16_TILE(1, 2)
DEFINE_LOGITS_BF16_TILE(1, 1)

static void KFN(gemm_logits_bf16_panel)(const uint16_t *W, size_t ldw, const uint16_t *hTp, size_t ldh, int k,
        int rows, int ntok, float *zT, size_t ldz, float scale, int accumulate) {
    int nvec = ntok / VLEN;
    for (int c0 = 0; c0 < nvec;) {
        int nv = nvec - c0 >= NV_LOGITS ? NV_LOGITS : (nvec - c0 >= 2 ? 2 : 1);
        const uint16_t *h = hTp + (size_t) c0 * VLEN * 2;
        float *z = zT + (size_t) c0 * VLEN;
        int r = 0;
        for (; r + MR_LOGITS <= rows; r += MR_LOGITS) {
            const uint16_t *w = W + (size_t) r * ldw;
            float *o = z + (size_t) r * ldz;
            if (nv == NV_LOGITS) KFN(logits_bf16_tile_MR_LOGITS_NV_LOGITS)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
            else if (nv == 2) KFN(logits_bf16_tile_MR_LOGITS_2)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
            else KFN(logits_bf16_tile_MR_LOGITS_1)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
        }
        for (; r < rows; r++) {
            const uint16_t *w = W + (size_t) r * ldw;
            float *o = z + (size_t) r * ldz;
            if (nv == NV_LOGITS) KFN(logits_bf16_tile_1_NV_LOGITS)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
            else if (nv == 2) KFN(logits_bf16_tile_1_2)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
            else KFN(logits_bf16_tile_1_1)(w, ldw, h, ldh, k, o, ldz, scale, accumulate);
        }
        c0 += nv;
    }
}

/* k even; panels of KC_LOGITS as in the fp32 path (a panel of hTp is half the bytes) */
static void KFN(gemm_logits_bf16)(const uint16_t *W, size_t ldw, const uint16_t *hTp, size_t ldh, int k, int rows,
        int ntok, float *zT, size_t ldz, float scale, int accumulate) {
    for (int k0 = 0; k0 < k; k0 += KC_LOGITS) {
        int kc = k - k0 < KC_LOGITS ? k - k0 : KC_LOGITS;
        KFN(gemm_logits_bf16_panel)(W + k0, ldw, hTp + (size_t) (k0 / 2) * ldh * 2, ldh, kc, rows, ntok, zT, ldz,
                scale, k0 > 0 || accumulate);
    }
}

/* dh [ntok x kp] += scale * dz^T W over row pairs: dzp (pairs, lddz, 2), Wp (pairs, ldw, 2) */
#define DEFINE_DH_BF16_TILE(MR, NV)                                                                     \
    static inline void KFN(dh_bf16_tile_##MR##_##NV)(const uint16_t *dzp, size_t lddz, const uint16_t *Wp, \
            size_t ldw, int pairs, float *dh, size_t lddh, float scale) {                              \
        __m512 acc[MR][NV];                                                                           \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = v_zero();                \
        for (int v = 0; v < pairs; v++) {                                                             \
            __m512i w[NV];                                                                            \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++)                                      \
                v_prefetch((const float *) (Wp + ((size_t) (v + DH_PREFETCH / 2) * ldw + c * VLEN) * 2)); \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++)                                      \
                w[c] = _mm512_loadu_si512(Wp + ((size_t) v * ldw + c * VLEN) * 2);                     \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                    \
                __m512i g = bf16_pair_at(dzp + ((size_t) v * lddz + r) * 2);                          \
                _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = bf16_dot(acc[r][c], g, w[c]); \
            }                                                                                         \
        }                                                                                             \
        vf s = v_set1(scale);                                                                         \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) {                                    \
                float *out = dh + (size_t) r * lddh + c * VLEN;                                       \
                v_store(out, v_fma(acc[r][c], s, v_load(out)));                                       \
            }                                                                                         \
    }

DEFINE_DH_BF16_TILE(MR_DH, NV_DH)
DEFINE_DH_BF16_TILE(MR_DH, 1)
DEFINE_DH_BF16_TILE(1, NV_DH)
DEFINE_DH_BF16_TILE(1, 1)

static void KFN(gemm_dh_bf16)(const uint16_t *dzp, size_t lddz, const uint16_t *Wp, size_t ldw, int rows, int ntok,
        int kp, float *dh, size_t lddh, float scale) {
    int nvec = kp / VLEN, pairs = (rows + 1) / 2;
    int c = 0;
    for (; c + NV_DH <= nvec; c += NV_DH) {
        int t = 0;
        for (; t + MR_DH <= ntok; t += MR_DH)
            KFN(dh_bf16_tile_MR_DH_NV_DH)(dzp + (size_t) t * 2, lddz, Wp + (size_t) c * VLEN * 2, ldw, pairs, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
        for (; t < ntok; t++)
            KFN(dh_bf16_tile_1_NV_DH)(dzp + (size_t) t * 2, lddz, Wp + (size_t) c * VLEN * 2, ldw, pairs, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
    }
    for (; c < nvec; c++) {
        int t = 0;
        for (; t + MR_DH <= ntok; t += MR_DH)
            KFN(dh_bf16_tile_MR_DH_1)(dzp + (size_t) t * 2, lddz, Wp + (size_t) c * VLEN * 2, ldw, pairs, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
        for (; t < ntok; t++)
            KFN(dh_bf16_tile_1_1)(dzp + (size_t) t * 2, lddz, Wp + (size_t) c * VLEN * 2, ldw, pairs, dh + (size_t) t * lddh + c * VLEN, lddh, scale);
    }
}

/* dW [rows x kp] += scale * dz h over token pairs: dzb (rows, lddz), hp (ntok/2, ldh, 2); ntok even */
#define DEFINE_DW_BF16_TILE(MR, NV)                                                                     \
    static inline void KFN(dw_bf16_tile_##MR##_##NV)(const uint16_t *dzb, size_t lddz, const uint16_t *hp, \
            size_t ldh, int ntok, float *dW, size_t lddw, float scale) {                               \
        __m512 acc[MR][NV];                                                                           \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++)                                      \
                v_prefetch(dW + (size_t) r * lddw + c * VLEN);                                        \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = v_zero();                \
        for (int t = 0; t < ntok; t += 2) {                                                           \
            __m512i x[NV];                                                                            \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++)                                      \
                x[c] = _mm512_loadu_si512(hp + ((size_t) (t / 2) * ldh + c * VLEN) * 2);               \
            _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                    \
                __m512i g = bf16_pair_at(dzb + (size_t) r * lddz + t);                                \
                _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) acc[r][c] = bf16_dot(acc[r][c], g, x[c]); \
            }                                                                                         \
        }                                                                                             \
        vf s = v_set1(scale);                                                                         \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                          \
            _Pragma("GCC unroll 6") for (int c = 0; c < NV; c++) {                                    \
                float *out = dW + (size_t) r * lddw + c * VLEN;                                       \
                v_store(out, v_fma(acc[r][c], s, v_load(out)));                                       \
            }                                                                                         \
    }

DEFINE_DW_BF16_TILE(MR_DW, NV_DW)
DEFINE_DW_BF16_TILE(MR_DW, 1)
DEFINE_DW_BF16_TILE(1, NV_DW)
DEFINE_DW_BF16_TILE(1, 1)

static void KFN(gemm_dw_bf16)(const uint16_t *dzb, size_t lddz, const uint16_t *hp, size_t ldh, int rows, int ntok,
        int kp, float *dW, size_t lddw, float scale) {
    int nvec = kp / VLEN;
    int r = 0;
    for (; r + MR_DW <= rows; r += MR_DW) {
        int c = 0;
        for (; c + NV_DW <= nvec; c += NV_DW)
            KFN(dw_bf16_tile_MR_DW_NV_DW)(dzb + (size_t) r * lddz, lddz, hp + (size_t) c * VLEN * 2, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
        for (; c < nvec; c++)
            KFN(dw_bf16_tile_MR_DW_1)(dzb + (size_t) r * lddz, lddz, hp + (size_t) c * VLEN * 2, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
    }
    for (; r < rows; r++) {
        int c = 0;
        for (; c + NV_DW <= nvec; c += NV_DW)
            KFN(dw_bf16_tile_1_NV_DW)(dzb + (size_t) r * lddz, lddz, hp + (size_t) c * VLEN * 2, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
        for (; c < nvec; c++)
            KFN(dw_bf16_tile_1_1)(dzb + (size_t) r * lddz, lddz, hp + (size_t) c * VLEN * 2, ldh, ntok, dW + (size_t) r * lddw + c * VLEN, lddw, scale);
    }
}

/* Conversions, always by VCVTNEPS2BF16 (round to nearest even; tails through masks), so every bf16 value
 * of the head and of a call is rounded the same way. */
static void KFN(to_bf16)(const float *x, uint16_t *out, size_t n) {
    for (size_t i = 0; i < n; i += VLEN) {
        size_t left = n - i;
        __mmask16 m = left >= VLEN ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
        __m256i b = (__m256i) _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        _mm256_mask_storeu_epi16(out + i, m, b);
    }
}

static void KFN(to_bf16_pair)(const float *r0, const float *r1, uint16_t *out, size_t n) {
    for (size_t i = 0; i < n; i += VLEN) {
        size_t left = n - i;
        __mmask16 m = left >= VLEN ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
        __m512i lo = _mm512_cvtepu16_epi32((__m256i) _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r0 + i)));
        __m512i hi = r1 != NULL ? _mm512_cvtepu16_epi32((__m256i) _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, r1 + i)))
                : _mm512_setzero_si512();
        _mm512_mask_storeu_epi32(out + 2 * i, m, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
}

static void KFN(to_bf16_row_pairs)(const float *x, int rows, size_t len, uint16_t *out) {
    for (int r = 0; r < rows; r += 2) {
        KFN(to_bf16_pair)(x + (size_t) r * len, r + 1 < rows ? x + (size_t) (r + 1) * len : NULL, out + (size_t) r * len,
                len);
    }
}
#endif

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
    .row_max = KFN(row_max),
    .exp_weights = KFN(exp_weights),
#ifdef MMUPT_BF16
    .gemm_logits_bf16 = KFN(gemm_logits_bf16),
    .gemm_dh_bf16 = KFN(gemm_dh_bf16),
    .gemm_dw_bf16 = KFN(gemm_dw_bf16),
    .to_bf16 = KFN(to_bf16),
    .to_bf16_row_pairs = KFN(to_bf16_row_pairs),
#endif
};
