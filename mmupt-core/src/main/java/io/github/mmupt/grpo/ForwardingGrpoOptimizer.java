package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;

/**
 * A {@link GrpoOptimizer} that passes every call to another, for wrappers that time, log or record some of the
 * calls (as Guava's {@code Forwarding*} classes do): extend it and override what you watch. Every method,
 * {@link #draw} and {@link #temperature()} included, forwards, so the wrapped head's fast paths stay in use.
 *
 * <pre>{@code
 * GrpoOptimizer timed = new ForwardingGrpoOptimizer(head) {
 *     @Override
 *     public UpdateResult update() {
 *         long t0 = System.nanoTime();
 *         try {
 *             return super.update();
 *         } finally {
 *             updateNanos += System.nanoTime() - t0;
 *         }
 *     }
 * };
 * }</pre>
 */
public class ForwardingGrpoOptimizer implements GrpoOptimizer {

    private final GrpoOptimizer delegate;

    /**
     * Wraps {@code delegate}; closing the wrapper closes it.
     *
     * @param delegate the optimizer every call goes to
     */
    public ForwardingGrpoOptimizer(GrpoOptimizer delegate) {
        if (delegate == null) {
            throw new IllegalArgumentException("delegate must not be null");
        }
        this.delegate = delegate;
    }

    /** {@return the optimizer every call goes to} */
    protected GrpoOptimizer delegate() {
        return delegate;
    }

    @Override
    public HeadShape shape() {
        return delegate.shape();
    }

    @Override
    public GrpoLossConfig lossConfig() {
        return delegate.lossConfig();
    }

    @Override
    public double temperature() {
        return delegate.temperature();
    }

    @Override
    public AdamWConfig adamW() {
        return delegate.adamW();
    }

    @Override
    public void adamW(AdamWConfig config) {
        delegate.adamW(config);
    }

    @Override
    public TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version) {
        return delegate.score(hidden, targets, version);
    }

    @Override
    public void logits(HiddenStates hidden, FloatBuffer out) {
        delegate.logits(hidden, out);
    }

    @Override
    public boolean draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform,
            int[] banned, boolean[] skip, int[] out) {
        return delegate.draw(logits, rows, temperature, topP, uniform, banned, skip, out);
    }

    @Override
    public LossMetrics accumulate(LossBatch batch) {
        return delegate.accumulate(batch);
    }

    @Override
    public DpoPairs dpoPairs(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected, double beta) {
        return delegate.dpoPairs(chosen, rejected, refChosen, refRejected, beta);
    }

    @Override
    public LossMetrics accumulate(LossBatch batch, FloatBuffer gradHidden) {
        return delegate.accumulate(batch, gradHidden);
    }

    @Override
    public UpdateResult update() {
        return delegate.update();
    }

    @Override
    public UpdateResult update(double otherSumOfSquares) {
        return delegate.update(otherSumOfSquares);
    }

    @Override
    public void discardGradient() {
        delegate.discardGradient();
    }

    @Override
    public long step() {
        return delegate.step();
    }

    @Override
    public HeadWeights weights() {
        return delegate.weights();
    }

    @Override
    public OptimizerState state() {
        return delegate.state();
    }

    @Override
    public void restore(OptimizerState state) {
        delegate.restore(state);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
