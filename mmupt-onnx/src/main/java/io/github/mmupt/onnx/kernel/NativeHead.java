package io.github.mmupt.onnx.kernel;

import static io.github.mmupt.onnx.kernel.KernelBuffers.checkTokens;
import static io.github.mmupt.onnx.kernel.KernelBuffers.finite;
import static io.github.mmupt.onnx.kernel.KernelBuffers.floats;
import static io.github.mmupt.onnx.kernel.KernelBuffers.ints;

import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.DpoLoss;
import io.github.mmupt.grpo.DpoPairs;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.head.HeadShape;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A head in native memory: its parameters and, when trainable, its accumulated gradient and AdamW moments,
 * with the kernel's score, logits and train modes. The low-level bridge under {@link NativeGrpoOptimizer}.
 *
 * <p>Every argument is checked here before the native call (and again in C): buffers must be direct, in
 * native byte order, and hold enough elements from their position; per-token inputs must be finite. Calls
 * read buffers in place, without copies.
 *
 * <p>Ownership and lifecycle: this object owns one native handle. {@link #close()} frees it, is idempotent,
 * and is refused with {@link IllegalStateException} while a call is running on another thread; any call after
 * close throws {@link IllegalStateException}. A head that is garbage-collected without being closed is freed by
 * a {@link Cleaner} and reported in the log as a leak. Threading: one caller at a time, enforced: a call while
 * another is running is refused with {@link IllegalStateException}; each call uses the head's worker threads.
 *
 * <pre>{@code
 * try (NativeHead head = NativeHead.create(HeadShape.full(V, d), true, KernelOptions.defaults())) {
 *     head.write(HeadTensor.WEIGHT, TensorPart.VALUE, weights);
 *     head.score(hidden, targets, T, 0.7, logp, null);
 * }
 * }</pre>
 */
public final class NativeHead implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NativeHead.class);
    private static final Cleaner CLEANER = Cleaner.create();

    private final HeadShape shape;
    private final boolean trainable;
    private final KernelOptions options;
    private final State state;
    private final Cleaner.Cleanable cleanable;
    private final AtomicInteger calls = new AtomicInteger();

    /** The handle, shared with the cleaner; it must not refer back to the head. */
    private static final class State implements Runnable {
        /** What calls use; 0 once closed. */
        volatile long handle;
        /** What is freed, exactly once, by the cleaner. */
        final long owned;
        volatile boolean closedExplicitly;

        State(long handle) {
            this.handle = handle;
            this.owned = handle;
        }

        @Override
        public void run() {
            handle = 0;
            if (!closedExplicitly) {
                LOG.warn("a NativeHead was garbage-collected without close(); its native memory is freed now");
            }
            destroy(owned);
        }
    }

    private NativeHead(HeadShape shape, boolean trainable, KernelOptions options, long handle) {
        this.shape = shape;
        this.trainable = trainable;
        this.options = options;
        this.state = new State(handle);
        this.cleanable = CLEANER.register(this, state);
    }

    /**
     * A head of the given shape with zero parameters.
     *
     * @param trainable keep a gradient and AdamW moments (a frozen head only scores)
     * @param shape the head's shape (full or LoRA)
     * @param options the kernel's settings
     * @return the head, open; close it
     * @throws UnsatisfiedLinkError when the native library cannot be loaded
     */
    public static NativeHead create(HeadShape shape, boolean trainable, KernelOptions options) {
        if (shape == null || options == null) {
            throw new IllegalArgumentException("shape and options must not be null");
        }
        NativeMemory.require(bytesNeeded(shape, trainable, options), describe(shape, trainable), options);
        long handle = create(shape.vocabSize(), shape.hiddenSize(), shape.loraRank(), (float) shape.loraAlpha(),
                trainable, options.threads(), options.isa());
        return new NativeHead(shape, trainable, options, handle);
    }

    /**
     * The native memory a head of this shape takes, computed by the kernel without allocating: the weights, the
     * LoRA factors, for a trainable head the gradient and AdamW's two moments, and the bf16 copies of the bf16
     * path; rows padded to a multiple of 16 floats, and by 16 more where that is an even number of 64-byte lines
     * (so that rows do not crowd into a few L1 sets). {@link #create} checks it against
     * {@link KernelOptions#memoryLimitBytes()} before allocating anything.
     *
     * @param shape the head's shape
     * @param trainable whether it keeps a gradient and AdamW moments
     * @param options the kernel's settings (the instruction set decides the bf16 copies)
     * @return bytes
     * @throws UnsatisfiedLinkError when the native library cannot be loaded
     */
    public static long bytesNeeded(HeadShape shape, boolean trainable, KernelOptions options) {
        NativeLibrary.load();
        long bytes = bytes(shape.vocabSize(), shape.hiddenSize(), shape.loraRank(), trainable, options.isa());
        if (bytes < 0) {
            throw new IllegalArgumentException("not a valid head shape for the kernel: " + shape);
        }
        return bytes;
    }

    /**
     * DPO's loss and coefficients computed by the kernel ({@code mmupt_dpo_pairs}); the same contract as
     * {@link io.github.mmupt.grpo.DpoLoss#pairs}, which it is checked against. It needs no head.
     *
     * @param chosen the policy's log-prob of each chosen response
     * @param rejected the policy's log-prob of each rejected response
     * @param refChosen the reference's log-prob of each chosen response
     * @param refRejected the reference's log-prob of each rejected response
     * @param beta DPO's beta, finite and > 0
     * @return the loss, coefficients and statistics
     * @throws IllegalArgumentException on mismatched lengths, no pairs, a bad beta or a non-finite input (named)
     */
    public static DpoPairs dpoPairs(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected,
            double beta) {
        int n = DpoLoss.pairCount(chosen, rejected, refChosen, refRejected);
        NativeLibrary.load();
        double[] in = new double[4 * n];
        System.arraycopy(chosen, 0, in, 0, n);
        System.arraycopy(rejected, 0, in, n, n);
        System.arraycopy(refChosen, 0, in, 2 * n, n);
        System.arraycopy(refRejected, 0, in, 3 * n, n);
        double[] out = new double[2 * n + 3];
        dpoPairs(in, n, beta, out);
        return new DpoPairs(out[2 * n], java.util.Arrays.copyOfRange(out, 0, n), java.util.Arrays.copyOfRange(out, n, 2 * n),
                out[2 * n + 1], out[2 * n + 2]);
    }

    static String describe(HeadShape shape, boolean trainable) {
        return (trainable ? "a trainable" : "a frozen") + " head [V=" + shape.vocabSize() + " x d=" + shape.hiddenSize()
                + (shape.isLora() ? ", LoRA rank " + shape.loraRank() : "") + "]";
    }

    /** {@return the head's shape} */
    public HeadShape shape() {
        return shape;
    }

    /** {@return whether the head keeps a gradient and AdamW moments} */
    public boolean trainable() {
        return trainable;
    }

    /** {@return the kernel settings it was created with} */
    public KernelOptions options() {
        return options;
    }

    /**
     * The instruction set in use.
     *
     * @return "avx512", "avx2", "neon" or "generic"
     */
    public String isa() {
        return call(h -> isa(h));
    }

    /**
     * Worker threads (and vocabulary partitions).
     *
     * @return the worker threads
     */
    public int threads() {
        return call(h -> threads(h));
    }

    /**
     * Copies a whole tensor part in from {@code values}: [V x d], [r x d] or [V x r], row-major. A tensor over
     * 2^31 bytes does not fit one buffer: use {@link #writeRows}.
     *
     * @param tensor which tensor
     * @param part its parameters, gradient or a moment
     * @param values the values, row-major, at least as many as the tensor has (direct, native order)
     */
    public void write(HeadTensor tensor, TensorPart part, FloatBuffer values) {
        writeRows(tensor, part, 0, rows(tensor), values);
    }

    /**
     * Copies rows [firstRow, firstRow + rowCount) of a tensor part in from {@code values}, so that a head of any
     * size is moved through a bounded buffer.
     *
     * @param tensor which tensor
     * @param part its parameters, gradient or a moment
     * @param firstRow the first row
     * @param rowCount how many rows
     * @param values rowCount rows of the tensor's width, row-major (direct, native order)
     */
    public void writeRows(HeadTensor tensor, TensorPart part, long firstRow, long rowCount, FloatBuffer values) {
        FloatBuffer v = floats(values, checkRows(tensor, firstRow, rowCount) * columns(tensor), "values", false);
        run(h -> write(h, shape.vocabSize(), shape.hiddenSize(), shape.loraRank(), tensor.ordinal(), part.ordinal(),
                firstRow, rowCount, v));
    }

    /**
     * Copies a whole tensor part out into {@code out} (see {@link #readRows} for tensors over 2^31 bytes).
     *
     * @param tensor which tensor
     * @param part its parameters, gradient or a moment
     * @param out where the values go, row-major (direct, native order)
     */
    public void read(HeadTensor tensor, TensorPart part, FloatBuffer out) {
        readRows(tensor, part, 0, rows(tensor), out);
    }

    /**
     * Copies rows [firstRow, firstRow + rowCount) of a tensor part out into {@code out}.
     *
     * @param tensor which tensor
     * @param part its parameters, gradient or a moment
     * @param firstRow the first row
     * @param rowCount how many rows
     * @param out where rowCount rows go, row-major (direct, native order)
     */
    public void readRows(HeadTensor tensor, TensorPart part, long firstRow, long rowCount, FloatBuffer out) {
        FloatBuffer v = floats(out, checkRows(tensor, firstRow, rowCount) * columns(tensor), "out", false);
        run(h -> read(h, shape.vocabSize(), shape.hiddenSize(), shape.loraRank(), tensor.ordinal(), part.ordinal(),
                firstRow, rowCount, v));
    }

    private long checkRows(HeadTensor tensor, long firstRow, long rowCount) {
        long rows = rows(tensor);
        if (firstRow < 0 || rowCount < 0 || firstRow > rows - rowCount) {
            throw new IllegalArgumentException("rows [" + firstRow + ", " + (firstRow + rowCount) + ") are outside the "
                    + tensor + " tensor's " + rows + " rows");
        }
        return rowCount;
    }

    /**
     * Rows of a tensor: V for the weight and B, r for A.
     *
     * @param tensor which tensor
     * @return its rows
     */
    public long rows(HeadTensor tensor) {
        return tensor == HeadTensor.LORA_A ? shape.loraRank() : shape.vocabSize();
    }

    /**
     * Columns of a tensor: d for the weight and A, r for B.
     *
     * @param tensor which tensor
     * @return its columns
     */
    public long columns(HeadTensor tensor) {
        return tensor == HeadTensor.LORA_B ? shape.loraRank() : shape.hiddenSize();
    }

    /**
     * Number of elements of a tensor.
     *
     * @param tensor which tensor
     * @return its element count
     */
    public long elements(HeadTensor tensor) {
        return switch (tensor) {
            case WEIGHT -> (long) shape.vocabSize() * shape.hiddenSize();
            case LORA_A -> (long) shape.loraRank() * shape.hiddenSize();
            case LORA_B -> (long) shape.vocabSize() * shape.loraRank();
        };
    }

    /**
     * AdamW updates applied so far.
     *
     * @return the update count
     */
    public long step() {
        return call(h -> step(h));
    }

    /**
     * Restores the update counter (for resuming from a checkpoint).
     *
     * @param step the update count to continue from
     */
    public void setStep(long step) {
        run(h -> setStep(h, step));
    }

    /**
     * Score mode: log-probs and entropies of {@code targets} under softmax(W h / temperature).
     *
     * @param hidden  [T x d]
     * @param targets [T]
     * @param logp    [T] output, or null
     * @param entropy [T] output, or null
     * @param tokens T
     * @param temperature the logits are divided by it
     */
    public void score(FloatBuffer hidden, IntBuffer targets, int tokens, double temperature, FloatBuffer logp,
            FloatBuffer entropy) {
        checkTokens(tokens);
        FloatBuffer hs = floats(hidden, (long) tokens * shape.hiddenSize(), "hidden", false);
        IntBuffer ys = ints(targets, tokens, "targets");
        FloatBuffer lp = floats(logp, tokens, "logp", true);
        FloatBuffer en = floats(entropy, tokens, "entropy", true);
        run(h -> score(h, shape.hiddenSize(), hs, ys, tokens, temperature, lp, en));
    }

    /**
     * Raw logits [T x V] = W h (no temperature), for sampling.
     *
     * @param hidden [T x d] hidden states
     * @param tokens T
     * @param out [T x V] output
     */
    public void logits(FloatBuffer hidden, int tokens, FloatBuffer out) {
        checkTokens(tokens);
        FloatBuffer hs = floats(hidden, (long) tokens * shape.hiddenSize(), "hidden", false);
        FloatBuffer z = floats(out, (long) tokens * shape.vocabSize(), "logits", false);
        run(h -> logits(h, shape.vocabSize(), shape.hiddenSize(), hs, tokens, z));
    }

    /**
     * Draws one token per row of {@code logits} [rows x V] from softmax(z / temperature), over the whole
     * vocabulary or its top-p nucleus: the first token whose cumulative weight, in id order, passes
     * {@code uniform[r]} times the total kept, with the weights from the kernel's SIMD exp (float, about 2 ulp)
     * rather than Java's double {@code Math.exp}. The nucleus is the one {@code KvCacheSampler}'s Java draw keeps
     * (the fewest heaviest tokens reaching {@code topP}, ties by lower id), found by a radix select over the
     * weights' bits instead of a sort of the vocabulary; unlike the Java draw, which walks the nucleus heaviest
     * first, the kernel walks it in id order: the same distribution, other tokens for the same uniforms. The rows
     * are overwritten by their weights.
     *
     * @param logits [rows x V] (direct, native order), overwritten
     * @param rows how many rows
     * @param temperature the logits are divided by it, finite and &gt; 0
     * @param topP nucleus mass in (0, 1]; 1 keeps every token
     * @param uniform [rows] draws in [0, 1), one per row
     * @param banned tokens that get weight 0 (stop tokens before {@code minNewTokens})
     * @param skip [rows] rows not to draw (their result is -2)
     * @param out [rows] the tokens; -1 for a row that cannot be sampled (a NaN or +Inf logit, or nothing left)
     */
    public void draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform, int[] banned,
            boolean[] skip, int[] out) {
        checkTokens(rows);
        FloatBuffer z = floats(logits, (long) rows * shape.vocabSize(), "logits", false);
        if (uniform == null || banned == null || skip == null || out == null || uniform.length < rows
                || skip.length < rows || out.length < rows) {
            throw new IllegalArgumentException("draw needs uniform, skip and out of at least " + rows
                    + " elements and a banned array");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        run(h -> draw(h, shape.vocabSize(), shape.hiddenSize(), z, rows, temperature, topP, uniform, banned, skip, out));
    }

    /**
     * Train mode: adds the gradient of {@code sum_t weights[t] L_t} to the head's gradient and returns the
     * loss statistics. All per-token buffers hold T floats; {@code refLogProbs} may be null when the KL term is
     * off; {@code logp}, {@code entropy} [T] and {@code gradHidden} [T x d] are optional outputs.
     *
     * @param config the loss settings
     * @param hidden [T x d] hidden states
     * @param targets [T] token ids
     * @param advantages [T] advantage of each token's sequence
     * @param oldLogProbs [T] log-probs under the sampling head
     * @param refLogProbs [T] log-probs under the reference head, or null without a KL term
     * @param weights [T] aggregation weight of each token, not negative
     * @param tokens T
     * @param logp [T] output of the current log-probs, or null
     * @param entropy [T] output of the entropies, or null
     * @param gradHidden [T x d] output of dL/dh, or null
     * @return the loss statistics of these tokens
     */
    public LossMetrics train(GrpoLossConfig config, FloatBuffer hidden, IntBuffer targets, FloatBuffer advantages,
            FloatBuffer oldLogProbs, FloatBuffer refLogProbs, FloatBuffer weights, int tokens, FloatBuffer logp,
            FloatBuffer entropy, FloatBuffer gradHidden) {
        if (!trainable) {
            throw new IllegalStateException("this head is frozen (created with trainable = false)");
        }
        checkTokens(tokens);
        boolean kl = config.kl().enabled();
        FloatBuffer hs = floats(hidden, (long) tokens * shape.hiddenSize(), "hidden", false);
        IntBuffer ys = ints(targets, tokens, "targets");
        FloatBuffer adv = finite(floats(advantages, tokens, "advantages", false), tokens, "advantages");
        FloatBuffer old = finite(floats(oldLogProbs, tokens, "oldLogProbs", false), tokens, "oldLogProbs");
        FloatBuffer ref = kl ? finite(floats(refLogProbs, tokens, "refLogProbs (needed: the KL term is on)", false),
                tokens, "refLogProbs") : null;
        FloatBuffer w = finite(floats(weights, tokens, "weights", false), tokens, "weights");
        for (int t = 0; t < tokens; t++) {
            if (w.get(t) < 0) {
                throw new IllegalArgumentException("weights[" + t + "] = " + w.get(t) + " is negative");
            }
        }
        FloatBuffer lp = floats(logp, tokens, "logp", true);
        FloatBuffer en = floats(entropy, tokens, "entropy", true);
        FloatBuffer dh = floats(gradHidden, (long) tokens * shape.hiddenSize(), "gradHidden", true);
        double[] cfg = {config.temperature(), config.clip().low(), config.clip().high(), config.clip().dualClip(),
                config.kl().beta(), config.kl().estimator().ordinal() + 1, config.kl().easyR1Clamps() ? 1 : 0,
                options.chunkTokens()};
        double[] m = new double[10];
        run(h -> train(h, shape.hiddenSize(), cfg, hs, ys, adv, old, ref, w, tokens, lp, en, dh, m));
        return new LossMetrics(m[0], m[1], m[2], (long) m[3], m[4], m[5], m[6], (long) m[7], (long) m[8], (long) m[9]);
    }

    /**
     * Global-norm clipping and one AdamW step; the gradient is cleared. A non-finite gradient is skipped.
     *
     * @param config the optimizer settings
     * @return what the update did
     */
    public UpdateResult update(AdamWConfig config) {
        return update(config, 0.0);
    }

    /**
     * As {@link #update(AdamWConfig)}, with the global norm taken over this head's gradient and other gradients
     * (a trunk's adapters) whose sum of squares is given: the norm, the clip scale and the decision to skip
     * cover both, and the caller applies the returned scale to the others.
     *
     * @param config the optimizer settings
     * @param otherSumOfSquares the other gradients' sum of squares, at least 0 (NaN or infinite: skipped)
     * @return what the update did
     */
    public UpdateResult update(AdamWConfig config, double otherSumOfSquares) {
        if (!trainable) {
            throw new IllegalStateException("this head is frozen (created with trainable = false)");
        }
        if (otherSumOfSquares < 0) {
            throw new IllegalArgumentException("a sum of squares is at least 0, got " + otherSumOfSquares);
        }
        double[] cfg = {config.learningRate(), config.beta1(), config.beta2(), config.epsilon(), config.weightDecay(),
                config.maxGradNorm(), otherSumOfSquares};
        double[] r = new double[4];
        run(h -> update(h, cfg, r));
        return new UpdateResult((long) r[0], r[1], r[2], r[3] != 0);
    }

    /** Clears the accumulated gradient. */
    public void zeroGradient() {
        run(h -> zeroGrad(h));
    }

    /**
     * Scratch bytes the last score, logits or train call allocated.
     *
     * @return bytes
     */
    public long lastWorkspaceBytes() {
        return call(h -> workspaceBytes(h));
    }

    /**
     * Native memory this head holds for its tensors (what {@link #bytesNeeded} said it would).
     *
     * @return bytes
     */
    public long ownedBytes() {
        return call(h -> ownedBytes(h));
    }

    /** {@return whether the head is open (not yet closed)} */
    public boolean isOpen() {
        return state.handle != 0;
    }

    @Override
    public void close() {
        synchronized (state) {
            long h = state.handle;
            if (h == 0) {
                return;
            }
            state.handle = 0; // new calls fail from here on; then make sure none is still running
            if (calls.get() > 0) {
                state.handle = h;
                throw new IllegalStateException("close() while a call on this head is running on another thread");
            }
            state.closedExplicitly = true;
            cleanable.clean();
        }
    }

    /** Runs {@code body} with the native handle, which {@link #close()} cannot free meanwhile. */
    void run(LongConsumer body) {
        long h = enter();
        try {
            body.accept(h);
        } finally {
            exit();
        }
    }

    private <T> T call(LongFunction<T> body) {
        long h = enter();
        try {
            return body.apply(h);
        } finally {
            exit();
        }
    }

    /**
     * Takes the head for one call: a second caller while one is running is refused (the kernel's scratch and
     * gradient are shared by the head's calls, so two at once would corrupt each other's results).
     */
    private long enter() {
        if (!calls.compareAndSet(0, 1)) {
            throw new IllegalStateException("this NativeHead is in use by another thread; it serves one caller at a "
                    + "time (use one head, or one optimizer, per thread)");
        }
        long h = state.handle;
        if (h == 0) {
            calls.decrementAndGet();
            throw new IllegalStateException("this NativeHead is closed");
        }
        return h;
    }

    private void exit() {
        calls.decrementAndGet();
        // the handle is freed by a Cleaner when this object is unreachable: keep it reachable until the call ends
        Reference.reachabilityFence(this);
    }

    // ------------------------------------------------------------------ native entry points (jni_shim.c)

    private static native long create(int vocab, int hidden, int rank, float alpha, boolean trainable, int threads,
            String isa);

    private static native void destroy(long handle);

    private static native void write(long handle, int vocab, int hidden, int rank, int tensor, int part, long firstRow,
            long rowCount, FloatBuffer v);

    private static native void read(long handle, int vocab, int hidden, int rank, int tensor, int part, long firstRow,
            long rowCount, FloatBuffer v);

    private static native void draw(long handle, int vocab, int hidden, FloatBuffer logits, int rows, double temperature,
            double topP, double[] uniform, int[] banned, boolean[] skip, int[] out);

    private static native long bytes(int vocab, int hidden, int rank, boolean trainable, String isa);

    private static native long ownedBytes(long handle);

    private static native long step(long handle);

    private static native void setStep(long handle, long step);

    private static native void score(long handle, int hidden, FloatBuffer hiddenStates, IntBuffer targets, int tokens,
            double temperature, FloatBuffer logp, FloatBuffer entropy);

    private static native void logits(long handle, int vocab, int hidden, FloatBuffer hiddenStates, int tokens,
            FloatBuffer out);

    private static native void train(long handle, int hidden, double[] config, FloatBuffer hiddenStates,
            IntBuffer targets, FloatBuffer advantages, FloatBuffer oldLogp, FloatBuffer refLogp, FloatBuffer weights,
            int tokens, FloatBuffer logp, FloatBuffer entropy, FloatBuffer gradHidden, double[] metrics);

    private static native void update(long handle, double[] config, double[] result);

    private static native void zeroGrad(long handle);

    private static native void dpoPairs(double[] logProbs, int pairs, double beta, double[] out);

    private static native long workspaceBytes(long handle);

    private static native String isa(long handle);

    private static native int threads(long handle);
}
