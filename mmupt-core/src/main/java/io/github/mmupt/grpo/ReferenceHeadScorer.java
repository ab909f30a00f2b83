package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;

/**
 * A frozen head in double precision: the pure-Java {@link HeadScorer}, used where the native kernel is not
 * available and in tests that need no native code. Computes what {@link ReferenceGrpoOptimizer} does for the
 * same head, through the same code.
 *
 * <pre>{@code
 * HeadScorer head = new ReferenceHeadScorer(weights.toReference(), 1.0);
 * }</pre>
 */
public final class ReferenceHeadScorer implements HeadScorer {

    private final ReferenceHead head;
    private final double temperature;
    private boolean closed;

    /**
     * A scorer of a copy of {@code head}.
     *
     * @param head the head (copied)
     * @param temperature what {@link #score} divides the logits by, &gt; 0
     */
    public ReferenceHeadScorer(ReferenceHead head, double temperature) {
        if (head == null) {
            throw new IllegalArgumentException("head must not be null");
        }
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and > 0, got " + temperature);
        }
        this.head = head.copy();
        this.temperature = temperature;
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
        checkOpen();
        checkWidth(head, hidden);
        return head.score(hidden.toDoubleArray(), targets.toArray(), temperature);
    }

    @Override
    public void logits(HiddenStates hidden, FloatBuffer out) {
        checkOpen();
        logits(head, hidden, out);
    }

    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this scorer is closed");
        }
    }

    /** The logits of {@code head} as floats into {@code out} from its position (shared with the optimizer). */
    static void logits(ReferenceHead head, HiddenStates hidden, FloatBuffer out) {
        checkWidth(head, hidden);
        int v = head.shape().vocabSize();
        if (out.remaining() < (long) hidden.tokens() * v) {
            throw new IllegalArgumentException("logits need " + (long) hidden.tokens() * v + " floats, the buffer has "
                    + out.remaining());
        }
        double[] h = hidden.toDoubleArray();
        double[] z = new double[v];
        int at = out.position();
        for (int t = 0; t < hidden.tokens(); t++) {
            head.logits(h, t, z);
            for (int i = 0; i < v; i++) {
                out.put(at + t * v + i, (float) z[i]);
            }
        }
    }

    static void checkWidth(ReferenceHead head, HiddenStates hidden) {
        if (hidden.hiddenSize() != head.shape().hiddenSize()) {
            throw new IllegalArgumentException("hidden states have width " + hidden.hiddenSize()
                    + " but the head expects d = " + head.shape().hiddenSize());
        }
    }
}
