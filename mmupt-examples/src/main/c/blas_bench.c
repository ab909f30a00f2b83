/*
 * Benchmark-only JNI bridge to OpenBLAS's cblas_sgemm, so that the kernel benchmark can time a plain SGEMM of
 * the same shapes in the same process. Never shipped: built only by the mmupt-examples kernel-bench profile.
 */
#include <cblas.h>
#include <jni.h>

void openblas_set_num_threads(int);
char *openblas_get_corename(void);
char *openblas_get_config(void);

/* The kernel OpenBLAS picked when it loaded (e.g. "Cooperlake", or "Haswell" when OPENBLAS_CORETYPE pins it). */
JNIEXPORT jstring JNICALL Java_io_github_mmupt_examples_bench_OpenBlas_coreName(JNIEnv *env, jclass cls) {
    (void) cls;
    return (*env)->NewStringUTF(env, openblas_get_corename());
}

JNIEXPORT jstring JNICALL Java_io_github_mmupt_examples_bench_OpenBlas_config(JNIEnv *env, jclass cls) {
    (void) cls;
    return (*env)->NewStringUTF(env, openblas_get_config());
}

JNIEXPORT void JNICALL Java_io_github_mmupt_examples_bench_OpenBlas_setThreads(JNIEnv *env, jclass cls, jint n) {
    (void) env;
    (void) cls;
    openblas_set_num_threads(n);
}

/* C [M x N] = op(A) op(B), row-major, op = transpose when the flag is set; buffers checked in Java. */
JNIEXPORT void JNICALL Java_io_github_mmupt_examples_bench_OpenBlas_sgemm0(JNIEnv *env, jclass cls, jboolean transA,
        jboolean transB, jint m, jint n, jint k, jobject a, jint lda, jobject b, jint ldb, jobject c, jint ldc) {
    (void) cls;
    float *pa = (*env)->GetDirectBufferAddress(env, a);
    float *pb = (*env)->GetDirectBufferAddress(env, b);
    float *pc = (*env)->GetDirectBufferAddress(env, c);
    if (pa == NULL || pb == NULL || pc == NULL) {
        jclass e = (*env)->FindClass(env, "java/lang/IllegalArgumentException");
        if (e != NULL) (*env)->ThrowNew(env, e, "sgemm needs direct buffers");
        return;
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
            pa, lda, pb, ldb, 0.0f, pc, ldc);
}
