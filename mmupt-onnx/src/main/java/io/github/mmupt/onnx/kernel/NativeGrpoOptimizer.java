package io.github.mmupt.onnx.kernel;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.DpoPairs;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import java.util.function.Supplier;

/**
 * The {@link GrpoOptimizer} of the native kernel: the head, its gradient and AdamW state live in a
 * {@link NativeHead}; the frozen reference head of the KL term (when beta &gt; 0) in a second, frozen one.
 *
 * <p>Hidden states that arrive in a direct, native-order buffer are read in place; others are staged in a
 * reused direct buffer. Lifecycle, ownership and threading are those of {@link GrpoOptimizer}.
 */
public final class NativeGrpoOptimizer implements GrpoOptimizer {

    private final NativeHead head;
    private final NativeHead reference;
    private final GrpoLossConfig lossConfig;
    private AdamWConfig adamW;
    /** Staging buffers and the one-thread guard, shared with the read-only {@link NativeHeadScorer}. */
    private final HeadStaging staging = new HeadStaging("NativeGrpoOptimizer");

    /**
     * Trains {@code initial}; when the KL term is on, a frozen copy made now is the reference head.
     *
     * @param initial the head to train (copied into native memory)
     * @param lossConfig the GRPO loss settings
     * @param adamW the optimizer settings
     * @param options the kernel's settings
     * @throws UnsatisfiedLinkError when the native library cannot be loaded
     */
    public NativeGrpoOptimizer(HeadWeights initial, GrpoLossConfig lossConfig, AdamWConfig adamW, KernelOptions options) {
        if (initial == null || lossConfig == null || adamW == null || options == null) {
            throw new IllegalArgumentException("initial head, loss config, AdamW config and options must not be null");
        }
        this.lossConfig = lossConfig;
        this.adamW = adamW;
        boolean kl = lossConfig.kl().enabled();
        // both heads together, before either is allocated: at 7B scale they are 8.7 and 2.2 GB
        NativeMemory.require(NativeHead.bytesNeeded(initial.shape(), true, options)
                + (kl ? NativeHead.bytesNeeded(initial.shape(), false, options) : 0),
                NativeHead.describe(initial.shape(), true) + (kl ? " with its frozen KL reference" : ""), options);
        NativeHead trained = NativeHead.create(initial.shape(), true, options);
        NativeHead frozen = null;
        try {
            upload(trained, initial);
            if (kl) {
                frozen = NativeHead.create(initial.shape(), false, options);
                upload(frozen, initial);
            }
        } catch (RuntimeException | Error e) {
            trained.close();
            if (frozen != null) {
                frozen.close();
            }
            throw e;
        }
        this.head = trained;
        this.reference = frozen;
    }

    /** Rows moved per native call when a tensor goes in or out: 16 MiB at most, whatever the head's size. */
    private static final long TRANSFER_BYTES = 16L << 20;

    static void upload(NativeHead head, HeadWeights weights) {
        long d = head.columns(HeadTensor.WEIGHT);
        FloatBuffer buffer = transferBuffer(head, HeadTensor.WEIGHT);
        long step = buffer.capacity() / d;
        for (long row = 0; row < head.rows(HeadTensor.WEIGHT); row += step) {
            long rows = Math.min(step, head.rows(HeadTensor.WEIGHT) - row);
            buffer.clear().limit((int) (rows * d));
            weights.copyWeight(row * d, buffer);
            buffer.flip();
            head.writeRows(HeadTensor.WEIGHT, TensorPart.VALUE, row, rows, buffer);
        }
        if (weights.shape().isLora()) {
            write(head, HeadTensor.LORA_A, TensorPart.VALUE, weights.loraA());
            write(head, HeadTensor.LORA_B, TensorPart.VALUE, weights.loraB());
        }
    }

    /** A direct buffer of a whole number of the tensor's rows, at most {@link #TRANSFER_BYTES} (one row at least). */
    private static FloatBuffer transferBuffer(NativeHead head, HeadTensor tensor) {
        long cols = Math.max(1, head.columns(tensor));
        long rows = Math.max(1, Math.min(head.rows(tensor), TRANSFER_BYTES / Float.BYTES / cols));
        return DirectScratch.newFloats(rows * cols);
    }

    /** Writes a tensor part from a heap array, through a bounded buffer. */
    private static void write(NativeHead head, HeadTensor tensor, TensorPart part, float[] values) {
        long cols = head.columns(tensor);
        if (cols == 0) {
            return;
        }
        FloatBuffer buffer = transferBuffer(head, tensor);
        long step = buffer.capacity() / cols;
        for (long row = 0; row < head.rows(tensor); row += step) {
            long rows = Math.min(step, head.rows(tensor) - row);
            buffer.clear();
            buffer.put(values, (int) (row * cols), (int) (rows * cols)).flip();
            head.writeRows(tensor, part, row, rows, buffer);
        }
    }

    /**
     * The underlying trainable head (for benchmarks and checkpoints); owned by this optimizer.
     *
     * @return the trained head, owned by this optimizer (do not close it)
     */
    public NativeHead nativeHead() {
        return head;
    }

    @Override
    public HeadWeights weights() {
        return guarded(this::readWeights);
    }

    private HeadWeights readWeights() {
        HeadShape shape = head.shape();
        float[] w = read(HeadTensor.WEIGHT);
        return shape.isLora() ? HeadWeights.lora(shape, w, read(HeadTensor.LORA_A), read(HeadTensor.LORA_B))
                : HeadWeights.full(shape, w);
    }

    @Override
    public OptimizerState state() {
        return guarded(this::readState);
    }

    private OptimizerState readState() {
        java.util.Map<String, float[]> t = new java.util.LinkedHashMap<>();
        t.put("weight", read(HeadTensor.WEIGHT));
        for (String name : OptimizerState.trainedNames(shape())) {
            HeadTensor tensor = tensor(name);
            if (shape().isLora()) {
                t.put(name, read(tensor));
            }
            t.put("adam_m." + name, read(tensor, TensorPart.ADAM_M));
            t.put("adam_v." + name, read(tensor, TensorPart.ADAM_V));
        }
        return new OptimizerState(shape(), head.step(), t);
    }

    @Override
    public void restore(OptimizerState state) {
        guarded(() -> {
            write(state);
            return null;
        });
    }

    private void write(OptimizerState state) {
        if (!state.shape().equals(shape())) {
            throw new IllegalArgumentException("a state of a head " + state.shape() + " cannot be restored into a head "
                    + shape());
        }
        if (shape().isLora() && !java.util.Arrays.equals(state.tensor("weight"), read(HeadTensor.WEIGHT))) {
            throw new IllegalArgumentException("the state's frozen base weight differs from this optimizer's");
        }
        state.requireUsable(); // checked whole before the first write, so a bad state changes nothing
        for (String name : OptimizerState.trainedNames(shape())) {
            HeadTensor tensor = tensor(name);
            write(head, tensor, TensorPart.VALUE, state.tensor(name));
            write(head, tensor, TensorPart.ADAM_M, state.tensor("adam_m." + name));
            write(head, tensor, TensorPart.ADAM_V, state.tensor("adam_v." + name));
        }
        head.setStep(state.step());
        head.zeroGradient();
    }

    private static HeadTensor tensor(String name) {
        return switch (name) {
            case "weight" -> HeadTensor.WEIGHT;
            case "lora_a" -> HeadTensor.LORA_A;
            case "lora_b" -> HeadTensor.LORA_B;
            default -> throw new IllegalArgumentException("unknown head tensor " + name);
        };
    }

    private float[] read(HeadTensor tensor) {
        return read(tensor, TensorPart.VALUE);
    }

    /** A tensor part into a heap array, through a bounded buffer (a heap array holds up to 2^31 - 1 floats). */
    private float[] read(HeadTensor tensor, TensorPart part) {
        long cols = head.columns(tensor);
        float[] out = new float[Math.toIntExact(head.elements(tensor))];
        if (cols == 0) {
            return out;
        }
        FloatBuffer buffer = transferBuffer(head, tensor);
        long step = buffer.capacity() / cols;
        for (long row = 0; row < head.rows(tensor); row += step) {
            long rows = Math.min(step, head.rows(tensor) - row);
            buffer.clear().limit((int) (rows * cols));
            head.readRows(tensor, part, row, rows, buffer);
            buffer.get(out, (int) (row * cols), (int) (rows * cols));
        }
        return out;
    }

    @Override
    public HeadShape shape() {
        return head.shape();
    }

    @Override
    public GrpoLossConfig lossConfig() {
        return lossConfig;
    }

    @Override
    public AdamWConfig adamW() {
        return adamW;
    }

    @Override
    public void adamW(AdamWConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("the AdamW settings must not be null");
        }
        this.adamW = config;
    }

    /**
     * Log-probs and entropies; a row of hidden states holding a NaN or an infinity (which the kernel refuses)
     * gets NaN for both instead of failing the whole call, so that a corrupt trunk output costs one skipped
     * update, as the loop promises, not the run.
     */
    @Override
    public TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version) {
        return guarded(() -> staging.score(version == HeadVersion.REFERENCE ? referenceHead() : head, hidden, targets,
                lossConfig.temperature()));
    }

    /** Logits; rows whose hidden states are not finite come out as NaN (see {@link #score}). */
    /** The kernel's draw ({@link NativeHead#draw}); logits that are not a direct native-order buffer: false. */
    @Override
    public boolean draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform, int[] banned,
            boolean[] skip, int[] out) {
        if (!logits.isDirect() || logits.order() != java.nio.ByteOrder.nativeOrder()) {
            return false;
        }
        return guarded(() -> {
            head.draw(logits, rows, temperature, topP, uniform, banned, skip, out);
            return true;
        });
    }

    @Override
    public void logits(HiddenStates hidden, FloatBuffer out) {
        guarded(() -> {
            staging.logits(head, hidden, out);
            return null;
        });
    }

    private NativeHead referenceHead() {
        if (reference == null) {
            throw new IllegalStateException("no reference head: the KL term is off (beta = 0), so none was kept");
        }
        return reference;
    }

    /** DPO's coefficients from the kernel ({@link NativeHead#dpoPairs}). */
    @Override
    public DpoPairs dpoPairs(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected, double beta) {
        return NativeHead.dpoPairs(chosen, rejected, refChosen, refRejected, beta);
    }

    @Override
    public LossMetrics accumulate(LossBatch batch) {
        return guarded(() -> train(batch, null));
    }

    @Override
    public LossMetrics accumulate(LossBatch batch, FloatBuffer gradHidden) {
        if (gradHidden == null) {
            throw new IllegalArgumentException("gradHidden must not be null");
        }
        return guarded(() -> train(batch, gradHidden));
    }

    private LossMetrics train(LossBatch batch, FloatBuffer gradHidden) {
        if (lossConfig.kl().enabled() && !batch.hasRefLogProbs()) {
            throw new IllegalArgumentException("the KL term is on (beta = " + lossConfig.kl().beta()
                    + ") but the batch has no reference log-probs");
        }
        int t = HeadStaging.checkShape(head.shape(), batch.hidden(), batch.tokens());
        FloatBuffer adv = staging.perToken(0, batch.advantages(), t);
        FloatBuffer old = staging.perToken(1, batch.oldLogProbs(), t);
        FloatBuffer ref = batch.hasRefLogProbs() ? staging.perToken(2, batch.refLogProbs(), t) : null;
        FloatBuffer w = staging.perToken(3, batch.weights(), t);
        FloatBuffer dh = gradHidden == null ? null : staging.gradHidden(gradHidden, t * head.shape().hiddenSize());
        LossMetrics metrics = head.train(lossConfig, staging.hidden(batch.hidden()), staging.targets(batch.targets()), adv,
                old, lossConfig.kl().enabled() ? ref : null, w, t, null, null, dh);
        if (dh != null) {
            HeadStaging.deliverGradHidden(dh, gradHidden);
        }
        return metrics;
    }

    @Override
    public UpdateResult update() {
        return guarded(() -> head.update(adamW));
    }

    @Override
    public UpdateResult update(double otherSumOfSquares) {
        return guarded(() -> head.update(adamW, otherSumOfSquares));
    }

    @Override
    public void discardGradient() {
        guarded(() -> {
            head.zeroGradient();
            return null;
        });
    }

    @Override
    public long step() {
        return guarded(head::step);
    }

    /**
     * Frees both heads; idempotent. Refused, changing nothing, while another thread is inside a call: the
     * trained head is closed first, and only then the reference head, which no one else can be using.
     */
    @Override
    public void close() {
        guarded(() -> {
            head.close();
            if (reference != null) {
                reference.close();
            }
            return null;
        });
    }

    /** Runs one public call with this optimizer to itself (see {@link HeadStaging#guarded}). */
    <T> T guarded(Supplier<T> body) {
        return staging.guarded(body);
    }
}
