/*
 * The JNI entry points of io.github.mmupt.onnx.kernel.NativeHead: unpack, check, call, translate errors.
 * Every entry checks its handle and the direct buffers (present, direct, large enough) before touching
 * memory, and has one exit path. No JNI type crosses into kernel.c.
 */
#include <jni.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mmupt_kernel.h"


static void throw_named(JNIEnv *env, const char *cls, const char *message) {
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) {
        (*env)->ThrowNew(env, c, message);
    }
}

static void throw_error(JNIEnv *env, const mmupt_error *err) {
    switch (err->status) {
        case MMUPT_ERR_ARGUMENT:
        case MMUPT_ERR_NONFINITE:
            throw_named(env, "java/lang/IllegalArgumentException", err->message);
            break;
        case MMUPT_ERR_MEMORY:
            throw_named(env, "java/lang/OutOfMemoryError", err->message);
            break;
        default:
            throw_named(env, "java/lang/IllegalStateException", err->message);
            break;
    }
}

/* The address of a direct buffer holding at least `needed` elements, or NULL with an exception pending.
 * A NULL buffer is allowed when `optional` is set (and then NULL is returned without an exception). */
static void *direct(JNIEnv *env, jobject buffer, long long needed, const char *name, int optional) {
    char message[200];
    if (buffer == NULL) {
        if (!optional) {
            snprintf(message, sizeof message, "%s must not be null", name);
            throw_named(env, "java/lang/IllegalArgumentException", message);
        }
        return NULL;
    }
    void *address = (*env)->GetDirectBufferAddress(env, buffer);
    jlong capacity = (*env)->GetDirectBufferCapacity(env, buffer);
    if (address == NULL || capacity < 0) {
        snprintf(message, sizeof message, "%s must be a direct buffer", name);
        throw_named(env, "java/lang/IllegalArgumentException", message);
        return NULL;
    }
    if (capacity < needed) {
        snprintf(message, sizeof message, "%s holds %lld elements, %lld needed", name, (long long) capacity, needed);
        throw_named(env, "java/lang/IllegalArgumentException", message);
        return NULL;
    }
    return address;
}

static mmupt_head *handle(JNIEnv *env, jlong h) {
    if (h == 0) {
        throw_named(env, "java/lang/IllegalStateException", "the native head is closed");
        return NULL;
    }
    return (mmupt_head *) (intptr_t) h;
}


JNIEXPORT jlong JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_create(JNIEnv *env, jclass cls, jint vocab,
        jint hidden, jint rank, jfloat alpha, jboolean trainable, jint threads, jstring isa) {
    (void) cls;
    mmupt_error err;
    const char *isa_name = isa != NULL ? (*env)->GetStringUTFChars(env, isa, NULL) : NULL;
    if (isa != NULL && isa_name == NULL) {
        return 0; /* OutOfMemoryError pending */
    }
    mmupt_head_desc desc = {vocab, hidden, rank, alpha, trainable == JNI_TRUE, threads, isa_name};
    mmupt_head *h = mmupt_head_create(&desc, &err);
    if (isa_name != NULL) {
        (*env)->ReleaseStringUTFChars(env, isa, isa_name);
    }
    if (h == NULL) {
        throw_error(env, &err);
        return 0;
    }
    return (jlong) (intptr_t) h;
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_destroy(JNIEnv *env, jclass cls, jlong h) {
    (void) env;
    (void) cls;
    mmupt_head_destroy((mmupt_head *) (intptr_t) h);
}

/* Checks the caller's dimensions against the head's own (a negative vocab or rank: not claimed), so that no
 * buffer is sized from a claim: 0 when they agree, else a pending IllegalArgumentException. */
static int check_dims(JNIEnv *env, const mmupt_head *head, jint vocab, jint hidden, jint rank) {
    int v, d, r;
    mmupt_head_dims(head, &v, &d, &r);
    if ((vocab >= 0 && vocab != v) || hidden != d || (rank >= 0 && rank != r)) {
        char msg[160];
        snprintf(msg, sizeof msg, "dimensions V=%d d=%d r=%d do not match the head's V=%d d=%d r=%d", (int) vocab,
                (int) hidden, (int) rank, v, d, r);
        throw_named(env, "java/lang/IllegalArgumentException", msg);
        return -1;
    }
    return 0;
}

/* Rows and columns of a tensor of this head, from its own dimensions. */
static void tensor_dims(const mmupt_head *head, jint tensor, long long *rows, long long *cols) {
    int vocab, hidden, rank;
    mmupt_head_dims(head, &vocab, &hidden, &rank);
    *rows = tensor == MMUPT_TENSOR_LORA_A ? rank : vocab;
    *cols = tensor == MMUPT_TENSOR_LORA_B ? rank : hidden;
}

/* The buffer of rows [first, first + count) of a tensor, checked: the range inside the tensor and the buffer
 * holding count rows; NULL with an exception pending otherwise. */
static float *row_buffer(JNIEnv *env, const mmupt_head *head, jint tensor, jlong first, jlong count, jobject values) {
    long long rows, cols;
    tensor_dims(head, tensor, &rows, &cols);
    if (first < 0 || count < 0 || first > rows - count) {
        char msg[160];
        snprintf(msg, sizeof msg, "rows [%lld, %lld) are outside the tensor's %lld rows", (long long) first,
                (long long) first + (long long) count, rows);
        throw_named(env, "java/lang/IllegalArgumentException", msg);
        return NULL;
    }
    return direct(env, values, count * cols, "values", 0);
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_write(JNIEnv *env, jclass cls, jlong h, jint vocab,
        jint hidden, jint rank, jint tensor, jint part, jlong first, jlong count, jobject values) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL || check_dims(env, head, vocab, hidden, rank) != 0) {
        return;
    }
    float *v = row_buffer(env, head, tensor, first, count, values);
    if (v != NULL && mmupt_head_write_rows(head, (mmupt_tensor) tensor, (mmupt_part) part, first, count, v, &err)
            != MMUPT_OK) {
        throw_error(env, &err);
    }
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_read(JNIEnv *env, jclass cls, jlong h, jint vocab,
        jint hidden, jint rank, jint tensor, jint part, jlong first, jlong count, jobject values) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL || check_dims(env, head, vocab, hidden, rank) != 0) {
        return;
    }
    float *v = row_buffer(env, head, tensor, first, count, values);
    if (v != NULL && mmupt_head_read_rows(head, (mmupt_tensor) tensor, (mmupt_part) part, first, count, v, &err)
            != MMUPT_OK) {
        throw_error(env, &err);
    }
}

JNIEXPORT jlong JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_bytes(JNIEnv *env, jclass cls, jint vocab,
        jint hidden, jint rank, jboolean trainable, jstring isa) {
    (void) cls;
    const char *isa_name = isa != NULL ? (*env)->GetStringUTFChars(env, isa, NULL) : NULL;
    if (isa != NULL && isa_name == NULL) {
        return -1; /* OutOfMemoryError pending */
    }
    long long bytes = mmupt_head_bytes(vocab, hidden, rank, trainable == JNI_TRUE, isa_name);
    if (isa_name != NULL) {
        (*env)->ReleaseStringUTFChars(env, isa, isa_name);
    }
    return (jlong) bytes;
}

JNIEXPORT jlong JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_ownedBytes(JNIEnv *env, jclass cls, jlong h) {
    (void) cls;
    mmupt_head *head = handle(env, h);
    return head != NULL ? (jlong) mmupt_head_owned_bytes(head) : 0;
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_draw(JNIEnv *env, jclass cls, jlong h, jint vocab,
        jint hidden, jobject logits, jint rows, jdouble temperature, jdouble topP, jdoubleArray uniform, jintArray banned,
        jbooleanArray skip, jintArray out) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL || check_dims(env, head, vocab, hidden, -1) != 0) {
        return;
    }
    if (rows < 0 || uniform == NULL || banned == NULL || skip == NULL || out == NULL
            || (*env)->GetArrayLength(env, uniform) < rows || (*env)->GetArrayLength(env, skip) < rows
            || (*env)->GetArrayLength(env, out) < rows) {
        throw_named(env, "java/lang/IllegalArgumentException", "draw needs rows >= 0 and uniform, skip and out arrays "
                "of at least rows elements, and a banned array");
        return;
    }
    float *z = direct(env, logits, (long long) rows * vocab, "logits", 0);
    if (z == NULL) {
        return;
    }
    jsize nb = (*env)->GetArrayLength(env, banned);
    jdouble *u = (*env)->GetDoubleArrayElements(env, uniform, NULL);
    jint *ban = (*env)->GetIntArrayElements(env, banned, NULL);
    jboolean *sk = (*env)->GetBooleanArrayElements(env, skip, NULL);
    jint *o = (*env)->GetIntArrayElements(env, out, NULL);
    if (u != NULL && ban != NULL && sk != NULL && o != NULL) {
        /* jboolean is uint8_t and jint int32_t on every JNI platform we build for */
        if (mmupt_head_draw(head, z, rows, temperature, topP, u, (const int32_t *) ban, (int) nb, (const uint8_t *) sk,
                (int32_t *) o, &err) != MMUPT_OK) {
            throw_error(env, &err);
        }
    }
    if (o != NULL) (*env)->ReleaseIntArrayElements(env, out, o, 0);
    if (sk != NULL) (*env)->ReleaseBooleanArrayElements(env, skip, sk, JNI_ABORT);
    if (ban != NULL) (*env)->ReleaseIntArrayElements(env, banned, ban, JNI_ABORT);
    if (u != NULL) (*env)->ReleaseDoubleArrayElements(env, uniform, u, JNI_ABORT);
}

JNIEXPORT jlong JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_step(JNIEnv *env, jclass cls, jlong h) {
    (void) cls;
    mmupt_head *head = handle(env, h);
    return head != NULL ? (jlong) mmupt_head_step(head) : -1;
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_setStep(JNIEnv *env, jclass cls, jlong h, jlong step) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head != NULL && mmupt_head_set_step(head, step, &err) != MMUPT_OK) {
        throw_error(env, &err);
    }
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_score(JNIEnv *env, jclass cls, jlong h, jint hidden,
        jobject hiddenStates, jobject targets, jint tokens, jdouble temperature, jobject logp, jobject entropy) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL) {
        return;
    }
    if (tokens < 0) {
        throw_named(env, "java/lang/IllegalArgumentException", "tokens must be >= 0");
        return;
    }
    if (check_dims(env, head, -1, hidden, -1) != 0) {
        return;
    }
    float *hs = direct(env, hiddenStates, (long long) tokens * hidden, "hidden", 0);
    int32_t *ys = hs != NULL ? direct(env, targets, tokens, "targets", 0) : NULL;
    float *lp = ys != NULL ? direct(env, logp, tokens, "logp", 1) : NULL;
    if (ys == NULL || (*env)->ExceptionCheck(env)) {
        return;
    }
    float *en = direct(env, entropy, tokens, "entropy", 1);
    if ((*env)->ExceptionCheck(env)) {
        return;
    }
    if (mmupt_head_score(head, hs, ys, tokens, temperature, lp, en, &err) != MMUPT_OK) {
        throw_error(env, &err);
    }
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_logits(JNIEnv *env, jclass cls, jlong h, jint vocab,
        jint hidden, jobject hiddenStates, jint tokens, jobject out) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL) {
        return;
    }
    if (tokens < 0) {
        throw_named(env, "java/lang/IllegalArgumentException", "tokens must be >= 0");
        return;
    }
    if (check_dims(env, head, vocab, hidden, -1) != 0) {
        return;
    }
    float *hs = direct(env, hiddenStates, (long long) tokens * hidden, "hidden", 0);
    float *z = hs != NULL ? direct(env, out, (long long) tokens * vocab, "logits", 0) : NULL;
    if (z != NULL && mmupt_head_logits(head, hs, tokens, z, &err) != MMUPT_OK) {
        throw_error(env, &err);
    }
}

/* config: temperature, clip low, clip high, dual clip, beta, estimator, clamps, chunk tokens
 * metrics out: loss, policy, kl loss, tokens, kl sum, entropy sum, drift sum, high, low, dual */
JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_train(JNIEnv *env, jclass cls, jlong h, jint hidden,
        jdoubleArray config, jobject hiddenStates, jobject targets, jobject advantages, jobject oldLogp, jobject refLogp,
        jobject weights, jint tokens, jobject logp, jobject entropy, jobject gradHidden, jdoubleArray metricsOut) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL) {
        return;
    }
    if (tokens < 0 || config == NULL || metricsOut == NULL || (*env)->GetArrayLength(env, config) != 8
            || (*env)->GetArrayLength(env, metricsOut) != 10) {
        throw_named(env, "java/lang/IllegalArgumentException", "train needs tokens >= 0, 8 config values and 10 metric slots");
        return;
    }
    jdouble c[8];
    (*env)->GetDoubleArrayRegion(env, config, 0, 8, c);
    mmupt_loss_config cfg = {c[0], c[1], c[2], c[3], c[4], (int) c[5], (int) c[6], (int) c[7]};
    if (check_dims(env, head, -1, hidden, -1) != 0) {
        return;
    }
    float *hs = direct(env, hiddenStates, (long long) tokens * hidden, "hidden", 0);
    int32_t *ys = hs != NULL ? direct(env, targets, tokens, "targets", 0) : NULL;
    float *adv = ys != NULL ? direct(env, advantages, tokens, "advantages", 0) : NULL;
    float *old = adv != NULL ? direct(env, oldLogp, tokens, "oldLogProbs", 0) : NULL;
    float *w = old != NULL ? direct(env, weights, tokens, "weights", 0) : NULL;
    if (w == NULL) {
        return;
    }
    float *ref = direct(env, refLogp, tokens, "refLogProbs", cfg.beta == 0.0);
    float *lp = (*env)->ExceptionCheck(env) ? NULL : direct(env, logp, tokens, "logp", 1);
    float *en = (*env)->ExceptionCheck(env) ? NULL : direct(env, entropy, tokens, "entropy", 1);
    float *dh = (*env)->ExceptionCheck(env) ? NULL : direct(env, gradHidden, (long long) tokens * hidden, "gradHidden", 1);
    if ((*env)->ExceptionCheck(env)) {
        return;
    }
    mmupt_loss_metrics m;
    if (mmupt_head_train(head, &cfg, hs, ys, adv, old, ref, w, tokens, lp, en, dh, &m, &err) != MMUPT_OK) {
        throw_error(env, &err);
        return;
    }
    jdouble out[10] = {m.loss, m.policy_loss, m.kl_loss, (jdouble) m.tokens, m.kl_sum, m.entropy_sum, m.drift_sum,
            (jdouble) m.clipped_high, (jdouble) m.clipped_low, (jdouble) m.clipped_dual};
    (*env)->SetDoubleArrayRegion(env, metricsOut, 0, 10, out);
}

/* config: lr, beta1, beta2, eps, weight decay, max grad norm, other sum of squares; result out: step, grad norm, clip scale, skipped */
JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_update(JNIEnv *env, jclass cls, jlong h,
        jdoubleArray config, jdoubleArray resultOut) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head == NULL) {
        return;
    }
    if (config == NULL || resultOut == NULL || (*env)->GetArrayLength(env, config) != 7
            || (*env)->GetArrayLength(env, resultOut) != 4) {
        throw_named(env, "java/lang/IllegalArgumentException", "update needs 7 config values and 4 result slots");
        return;
    }
    jdouble c[7];
    (*env)->GetDoubleArrayRegion(env, config, 0, 7, c);
    mmupt_adamw_config cfg = {c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
    mmupt_update_result r;
    if (mmupt_head_update(head, &cfg, &r, &err) != MMUPT_OK) {
        throw_error(env, &err);
        return;
    }
    jdouble out[4] = {(jdouble) r.step, r.grad_norm, r.clip_scale, (jdouble) r.skipped};
    (*env)->SetDoubleArrayRegion(env, resultOut, 0, 4, out);
}

/* logProbs: chosen[P], rejected[P], refChosen[P], refRejected[P] concatenated; out: coefChosen[P], coefRejected[P],
 * then loss, mean margin, accuracy (2P + 3). No head is needed. */
JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_dpoPairs(JNIEnv *env, jclass cls,
        jdoubleArray logProbs, jint pairs, jdouble beta, jdoubleArray out) {
    (void) cls;
    mmupt_error err;
    if (logProbs == NULL || out == NULL || pairs < 1 || pairs > (1 << 26)
            || (*env)->GetArrayLength(env, logProbs) != 4 * (jsize) pairs
            || (*env)->GetArrayLength(env, out) != 2 * (jsize) pairs + 3) {
        throw_named(env, "java/lang/IllegalArgumentException", "dpoPairs needs pairs >= 1, 4 * pairs log-probs and "
                "2 * pairs + 3 output slots");
        return;
    }
    jdouble *in = (*env)->GetDoubleArrayElements(env, logProbs, NULL);
    if (in == NULL) {
        return; /* OutOfMemoryError pending */
    }
    jdouble *o = (*env)->GetDoubleArrayElements(env, out, NULL);
    if (o == NULL) {
        (*env)->ReleaseDoubleArrayElements(env, logProbs, in, JNI_ABORT);
        return;
    }
    int status = mmupt_dpo_pairs(in, in + pairs, in + 2 * pairs, in + 3 * pairs, pairs, beta, o, o + pairs,
            o + 2 * pairs, o + 2 * pairs + 1, o + 2 * pairs + 2, &err);
    (*env)->ReleaseDoubleArrayElements(env, logProbs, in, JNI_ABORT);
    (*env)->ReleaseDoubleArrayElements(env, out, o, status == MMUPT_OK ? 0 : JNI_ABORT);
    if (status != MMUPT_OK) {
        throw_error(env, &err);
    }
}

JNIEXPORT void JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_zeroGrad(JNIEnv *env, jclass cls, jlong h) {
    (void) cls;
    mmupt_error err;
    mmupt_head *head = handle(env, h);
    if (head != NULL && mmupt_head_zero_grad(head, &err) != MMUPT_OK) {
        throw_error(env, &err);
    }
}

JNIEXPORT jlong JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_workspaceBytes(JNIEnv *env, jclass cls, jlong h) {
    (void) cls;
    mmupt_head *head = handle(env, h);
    return head != NULL ? (jlong) mmupt_head_last_workspace_bytes(head) : 0;
}

JNIEXPORT jstring JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_isa(JNIEnv *env, jclass cls, jlong h) {
    (void) cls;
    mmupt_head *head = handle(env, h);
    return head != NULL ? (*env)->NewStringUTF(env, mmupt_head_isa(head)) : NULL;
}

JNIEXPORT jint JNICALL Java_io_github_mmupt_onnx_kernel_NativeHead_threads(JNIEnv *env, jclass cls, jlong h) {
    (void) cls;
    mmupt_head *head = handle(env, h);
    return head != NULL ? mmupt_head_threads(head) : 0;
}
