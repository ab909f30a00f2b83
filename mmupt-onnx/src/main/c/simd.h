/*
 * One vector abstraction, four implementations, chosen by the translation unit that includes it:
 *   MMUPT_ISA_AVX512  16 float lanes (__m512), x86-64
 *   MMUPT_ISA_AVX2     8 float lanes (__m256), x86-64
 *   MMUPT_ISA_NEON     4 float lanes (float32x4_t), AArch64 (Advanced SIMD is part of every ARMv8-A core)
 *   (none)             8 float lanes in a plain struct, for any CPU (the compiler may vectorize it)
 * The kernel bodies (kernel_impl.h) are written once against these operations.
 */
#ifndef MMUPT_SIMD_H
#define MMUPT_SIMD_H

#include <math.h>
#include <stdint.h>

#if defined(MMUPT_ISA_AVX512)
#include <immintrin.h>
#define VLEN 16
typedef __m512 vf;
static inline vf v_zero(void) { return _mm512_setzero_ps(); }
static inline vf v_set1(float x) { return _mm512_set1_ps(x); }
static inline vf v_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf v_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf v_sqrt(vf a) { return _mm512_sqrt_ps(a); }
static inline vf v_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline float v_hsum(vf a) { return _mm512_reduce_add_ps(a); }
static inline vf v_round(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* 2^n for integral float n in [-126, 127] */
static inline vf v_pow2i(vf n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
}
#elif defined(MMUPT_ISA_AVX2)
#include <immintrin.h>
#define VLEN 8
typedef __m256 vf;
static inline vf v_zero(void) { return _mm256_setzero_ps(); }
static inline vf v_set1(float x) { return _mm256_set1_ps(x); }
static inline vf v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf v_sqrt(vf a) { return _mm256_sqrt_ps(a); }
static inline vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline float v_hsum(vf a) {
    __m128 lo = _mm256_castps256_ps128(a), hi = _mm256_extractf128_ps(a, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline vf v_round(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf v_pow2i(vf n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}
#elif defined(MMUPT_ISA_NEON)
#include <arm_neon.h>
#define VLEN 4
typedef float32x4_t vf;
static inline vf v_zero(void) { return vdupq_n_f32(0.0f); }
static inline vf v_set1(float x) { return vdupq_n_f32(x); }
static inline vf v_load(const float *p) { return vld1q_f32(p); }
static inline void v_store(float *p, vf v) { vst1q_f32(p, v); }
static inline vf v_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
static inline vf v_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf v_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf v_mul(vf a, vf b) { return vmulq_f32(a, b); }
/* NEON's max and min return NaN when either operand is NaN: a NaN input stays NaN, as v_exp requires */
static inline vf v_max(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf v_min(vf a, vf b) { return vminq_f32(a, b); }
static inline vf v_sqrt(vf a) { return vsqrtq_f32(a); }
static inline vf v_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline float v_hsum(vf a) { return vaddvq_f32(a); }
static inline vf v_round(vf a) { return vrndnq_f32(a); }  /* to nearest, ties to even, as the x86 paths */
static inline vf v_pow2i(vf n) {
    int32x4_t e = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
}
#else
#define VLEN 8
typedef struct { float x[VLEN]; } vf;
#define VF_MAP1(expr) vf r; for (int i = 0; i < VLEN; i++) { r.x[i] = (expr); } return r
static inline vf v_zero(void) { VF_MAP1(0.0f); }
static inline vf v_set1(float s) { VF_MAP1(s); }
static inline vf v_load(const float *p) { VF_MAP1(p[i]); }
static inline void v_store(float *p, vf v) { for (int i = 0; i < VLEN; i++) p[i] = v.x[i]; }
static inline vf v_fma(vf a, vf b, vf c) { VF_MAP1(fmaf(a.x[i], b.x[i], c.x[i])); }
static inline vf v_add(vf a, vf b) { VF_MAP1(a.x[i] + b.x[i]); }
static inline vf v_sub(vf a, vf b) { VF_MAP1(a.x[i] - b.x[i]); }
static inline vf v_mul(vf a, vf b) { VF_MAP1(a.x[i] * b.x[i]); }
static inline vf v_max(vf a, vf b) { VF_MAP1(a.x[i] > b.x[i] ? a.x[i] : b.x[i]); }
static inline vf v_min(vf a, vf b) { VF_MAP1(a.x[i] < b.x[i] ? a.x[i] : b.x[i]); }
static inline vf v_sqrt(vf a) { VF_MAP1(sqrtf(a.x[i])); }
static inline vf v_div(vf a, vf b) { VF_MAP1(a.x[i] / b.x[i]); }
static inline float v_hsum(vf a) { float s = 0; for (int i = 0; i < VLEN; i++) s += a.x[i]; return s; }
static inline vf v_round(vf a) { VF_MAP1(rintf(a.x[i])); }
static inline vf v_pow2i(vf n) {
    vf r;
    for (int i = 0; i < VLEN; i++) {
        union { uint32_t u; float f; } c;
        c.u = (uint32_t) ((int32_t) n.x[i] + 127) << 23;
        r.x[i] = c.f;
    }
    return r;
}
#endif

/*
 * exp(x) for float lanes: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial (Cephes' expf
 * coefficients, relative error about 2 ulp). Inputs are clamped to [-87.3, 88.7]: below, the result is a
 * tiny normal number instead of 0 (harmless in a softmax sum); above, float overflows anyway. NaN stays NaN.
 */
static inline void v_prefetch(const float *p) {
    __builtin_prefetch(p, 0, 3);
}

static inline vf v_exp(vf x) {
    const vf hi = v_set1(88.3762626647949f), lo = v_set1(-87.3365447504f);
    /* the clamp operand goes first: x86 max/min return their second operand when either is NaN, so a NaN
     * input stays NaN (a NaN logit must poison the loss, never be clamped into a plausible value) */
    x = v_min(hi, v_max(lo, x));
    vf n = v_round(v_mul(x, v_set1(1.44269504088896341f)));
    vf r = v_fma(n, v_set1(-0.693359375f), x);       /* ln2 split in two for exact reduction */
    r = v_fma(n, v_set1(2.12194440e-4f), r);
    vf p = v_set1(1.9875691500e-4f);
    p = v_fma(p, r, v_set1(1.3981999507e-3f));
    p = v_fma(p, r, v_set1(8.3334519073e-3f));
    p = v_fma(p, r, v_set1(4.1665795894e-2f));
    p = v_fma(p, r, v_set1(1.6666665459e-1f));
    p = v_fma(p, r, v_set1(5.0000001201e-1f));
    vf r2 = v_mul(r, r);
    p = v_fma(p, r2, v_add(r, v_set1(1.0f)));
    /* n can be 128 at the top of the range: split the power of two to stay in the exponent range */
    vf half = v_round(v_mul(n, v_set1(0.5f)));
    return v_mul(v_mul(p, v_pow2i(half)), v_pow2i(v_sub(n, half)));
}

#endif
