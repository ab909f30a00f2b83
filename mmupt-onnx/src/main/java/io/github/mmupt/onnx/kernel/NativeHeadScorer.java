package io.github.mmupt.onnx.kernel;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;

/**
 * A frozen head on the native kernel, for evaluation and serving: logits and log-probs through the very code
 * {@link NativeGrpoOptimizer} samples with, so a head scores the same here as in training, but with no gradient,
 * no AdamW moments (a third of the trainer's memory) and no optimizer settings to invent.
 *
 * <pre>{@code
 * try (HeadScorer head = new NativeHeadScorer(trained, 1.0, KernelOptions.defaults())) {
 *     head.logits(hidden, out);
 * }
 * }</pre>
 */
public final class NativeHeadScorer implements HeadScorer {

    private final NativeHead head;
    private final double temperature;
    private final HeadStaging staging = new HeadStaging("NativeHeadScorer");

    /**
     * A frozen copy of {@code weights} in native memory.
     *
     * @param weights the head (copied)
     * @param temperature what {@link #score} divides the logits by, &gt; 0
     * @param options the kernel's settings
     * @throws UnsatisfiedLinkError when the native library cannot be loaded
     */
    public NativeHeadScorer(HeadWeights weights, double temperature, KernelOptions options) {
        if (weights == null || options == null) {
            throw new IllegalArgumentException("weights and options must not be null");
        }
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and > 0, got " + temperature);
        }
        this.temperature = temperature;
        NativeHead h = NativeHead.create(weights.shape(), false, options);
        try {
            NativeGrpoOptimizer.upload(h, weights);
        } catch (RuntimeException | Error e) {
            h.close();
            throw e;
        }
        this.head = h;
    }

    @Override
    public HeadShape shape() {
        return head.shape();
    }

    @Override
    public double temperature() {
        return temperature;
    }

    /** Scores with the one frozen head, whichever {@code version} is asked for. */
    @Override
    public TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version) {
        return staging.guarded(() -> staging.score(head, hidden, targets, temperature));
    }

    /** The kernel's draw ({@link NativeHead#draw}); logits that are not a direct native-order buffer: false. */
    @Override
    public boolean draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform, int[] banned,
            boolean[] skip, int[] out) {
        if (!logits.isDirect() || logits.order() != java.nio.ByteOrder.nativeOrder()) {
            return false;
        }
        return staging.guarded(() -> {
            head.draw(logits, rows, temperature, topP, uniform, banned, skip, out);
            return true;
        });
    }

    @Override
    public void logits(HiddenStates hidden, FloatBuffer out) {
        staging.guarded(() -> {
            staging.logits(head, hidden, out);
            return null;
        });
    }

    /** Frees the native head; idempotent. */
    @Override
    public void close() {
        staging.guarded(() -> {
            head.close();
            return null;
        });
    }
}
