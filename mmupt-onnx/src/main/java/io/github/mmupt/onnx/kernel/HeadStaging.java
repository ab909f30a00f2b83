package io.github.mmupt.onnx.kernel;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * What every Java front of a {@link NativeHead} needs around a kernel call: inputs staged into reused direct
 * buffers, non-finite hidden-state rows masked instead of failing the call, and the one-thread guard. Shared by
 * the trainer ({@link NativeGrpoOptimizer}) and the read-only {@link NativeHeadScorer} so that both score and
 * produce logits through the same code, which keeps their values identical.
 */
final class HeadStaging {

    private final String owner;
    private final AtomicReference<Thread> user = new AtomicReference<>();
    private final DirectScratch hiddenScratch = new DirectScratch();
    private final DirectScratch targetScratch = new DirectScratch();
    private final DirectScratch logitScratch = new DirectScratch();
    private final DirectScratch gradScratch = new DirectScratch();
    private final DirectScratch[] tokenScratch = {new DirectScratch(), new DirectScratch(), new DirectScratch(),
            new DirectScratch(), new DirectScratch(), new DirectScratch()};

    /** @param owner the class name used in the guard's refusal */
    HeadStaging(String owner) {
        this.owner = owner;
    }

    /**
     * Log-probs and entropies; a row of hidden states holding a NaN or an infinity (which the kernel refuses)
     * gets NaN for both instead of failing the whole call, so that a corrupt trunk output costs one skipped
     * update, as the loop promises, not the run.
     */
    TokenScores score(NativeHead h, HiddenStates hidden, ImmutableIntArray targets, double temperature) {
        int t = checkShape(h.shape(), hidden, targets.length());
        FloatBuffer logp = tokenScratch[4].floats(t);
        FloatBuffer entropy = tokenScratch[5].floats(t);
        boolean[] bad = new boolean[t];
        h.score(stageFinite(hidden, bad), targets(targets), t, temperature, logp, entropy);
        for (int i = 0; i < t; i++) {
            if (bad[i]) {
                logp.put(i, Float.NaN);
                entropy.put(i, Float.NaN);
            }
        }
        return new TokenScores(toDoubles(logp, t), toDoubles(entropy, t));
    }

    /** Logits into {@code out} from its position; rows whose hidden states are not finite come out as NaN. */
    /**
     * Where the kernel writes dL/dh of {@code floats} values: {@code out} itself when it is a direct buffer in native
     * order, else a scratch slot that {@link #deliverGradHidden} copies into it.
     */
    FloatBuffer gradHidden(FloatBuffer out, int floats) {
        if (out.remaining() < floats) {
            throw new IllegalArgumentException("gradHidden has room for " + out.remaining() + " floats, dL/dh needs "
                    + floats);
        }
        return out.isDirect() && out.order() == ByteOrder.nativeOrder() ? out : gradScratch.floats(floats);
    }

    /** Copies dL/dh from where {@link #gradHidden} had the kernel write it into {@code out}, if they differ. */
    static void deliverGradHidden(FloatBuffer written, FloatBuffer out) {
        if (written != out) {
            out.duplicate().put(written.duplicate());
        }
    }

    void logits(NativeHead h, HiddenStates hidden, FloatBuffer out) {
        int t = checkShape(h.shape(), hidden, hidden.tokens());
        int v = h.shape().vocabSize();
        long n = (long) t * v;
        boolean[] bad = new boolean[t];
        FloatBuffer in = stageFinite(hidden, bad);
        FloatBuffer target = out.isDirect() && out.order() == ByteOrder.nativeOrder() ? out
                : logitScratch.floats(Math.toIntExact(n));
        h.logits(in, t, target);
        for (int i = 0; i < t; i++) {
            if (bad[i]) {
                for (int j = 0; j < v; j++) {
                    target.put(target.position() + i * v + j, Float.NaN);
                }
            }
        }
        if (target != out) {
            out.duplicate().put(target);
        }
    }

    /**
     * Runs one public call with the front to itself. Every call stages its inputs through shared scratch
     * buffers (and, for training, the head's shared gradient), so a second thread would corrupt the first one's
     * results (and receive its errors): it is refused instead, naming the thread that holds it.
     */
    <T> T guarded(Supplier<T> body) {
        Thread me = Thread.currentThread();
        if (!user.compareAndSet(null, me)) {
            Thread holder = user.get();
            throw new IllegalStateException("this " + owner + " is in use by thread "
                    + (holder == null ? "another thread" : "'" + holder.getName() + "'") + "; it is not thread-safe: "
                    + "call it from one thread at a time, or use one per thread");
        }
        try {
            return body.get();
        } finally {
            user.set(null);
        }
    }

    /**
     * The hidden states as a direct buffer the kernel accepts: rows holding a NaN or an infinity are marked in
     * {@code bad} and zeroed in a copy (the caller's buffer is never changed).
     */
    private FloatBuffer stageFinite(HiddenStates hidden, boolean[] bad) {
        FloatBuffer values = hidden(hidden);
        int d = hidden.hiddenSize();
        int base = values.position();
        boolean any = false;
        for (int r = 0; r < bad.length; r++) {
            for (int c = 0; c < d; c++) {
                if (!Float.isFinite(values.get(base + r * d + c))) {
                    bad[r] = true;
                    any = true;
                    break;
                }
            }
        }
        if (!any) {
            return values;
        }
        FloatBuffer copy = values;
        if (values == hidden.values()) { // the caller's own buffer, read in place by hidden(): zero rows in a copy
            copy = hiddenScratch.floats(bad.length * d);
            copy.put(values.duplicate()).flip();
        }
        for (int r = 0; r < bad.length; r++) {
            if (bad[r]) {
                for (int c = 0; c < d; c++) {
                    copy.put(copy.position() + r * d + c, 0f);
                }
            }
        }
        return copy;
    }

    static int checkShape(HeadShape shape, HiddenStates hidden, int tokens) {
        if (hidden.hiddenSize() != shape.hiddenSize()) {
            throw new IllegalArgumentException("hidden states have width " + hidden.hiddenSize()
                    + " but the head expects d = " + shape.hiddenSize());
        }
        if (hidden.tokens() != tokens) {
            throw new IllegalArgumentException(tokens + " targets for " + hidden.tokens() + " hidden-state rows");
        }
        return tokens;
    }

    /** The hidden states in place when direct and native-order, else a staged copy. */
    FloatBuffer hidden(HiddenStates hidden) {
        FloatBuffer values = hidden.values();
        if (values.isDirect() && values.order() == ByteOrder.nativeOrder()) {
            return values;
        }
        FloatBuffer copy = hiddenScratch.floats(values.remaining());
        copy.put(values.duplicate()).flip();
        return copy;
    }

    IntBuffer targets(ImmutableIntArray targets) {
        IntBuffer b = targetScratch.ints(targets.length());
        for (int i = 0; i < targets.length(); i++) {
            b.put(i, targets.get(i));
        }
        return b;
    }

    /** Per-token values in staging slot {@code slot} (0-3; 4 and 5 hold score's outputs). */
    FloatBuffer perToken(int slot, ImmutableDoubleArray values, int n) {
        FloatBuffer b = tokenScratch[slot].floats(n);
        for (int i = 0; i < n; i++) {
            b.put(i, (float) values.get(i));
        }
        return b;
    }

    private static ImmutableDoubleArray toDoubles(FloatBuffer b, int n) {
        ImmutableDoubleArray.Builder out = ImmutableDoubleArray.builder(n);
        for (int i = 0; i < n; i++) {
            out.add(b.get(i));
        }
        return out.build();
    }
}
