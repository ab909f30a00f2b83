package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadGradients;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The pure-Java {@link GrpoOptimizer}: {@link ReferenceGrpoLoss}, {@link GradientClipping} and {@link AdamW}
 * in double precision. It is the oracle for the native kernel and the fallback where no native build exists;
 * it is far too slow for a real vocabulary.
 */
public final class ReferenceGrpoOptimizer implements GrpoOptimizer {

    private final ReferenceHead head;
    private final ReferenceHead reference;
    private final GrpoLossConfig lossConfig;
    private AdamWConfig adamW;
    private final List<double[]> gradient = new ArrayList<>();
    private final List<double[]> firstMoment = new ArrayList<>();
    private final List<double[]> secondMoment = new ArrayList<>();
    private long step;
    private boolean closed;

    /**
     * Trains a copy of {@code initialHead}; the copy made now is also the frozen reference head.
     *
     * @param initialHead the head to train (the KL reference is a frozen copy)
     * @param lossConfig the loss settings
     * @param adamW the optimizer settings
     */
    public ReferenceGrpoOptimizer(ReferenceHead initialHead, GrpoLossConfig lossConfig, AdamWConfig adamW) {
        if (initialHead == null || lossConfig == null || adamW == null) {
            throw new IllegalArgumentException("head, loss config and AdamW config must not be null");
        }
        this.head = initialHead.copy();
        this.reference = initialHead.copy();
        this.lossConfig = lossConfig;
        this.adamW = adamW;
        for (double[] tensor : head.trainableTensors()) {
            gradient.add(new double[tensor.length]);
            firstMoment.add(new double[tensor.length]);
            secondMoment.add(new double[tensor.length]);
        }
    }

    /** {@return a copy of the head as trained so far} */
    public ReferenceHead head() {
        checkOpen();
        return head.copy();
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

    @Override
    public TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version) {
        checkOpen();
        checkWidth(hidden);
        ReferenceHead h = version == HeadVersion.REFERENCE ? reference : head;
        return h.score(hidden.toDoubleArray(), targets.toArray(), lossConfig.temperature());
    }

    @Override
    public void logits(HiddenStates hidden, FloatBuffer out) {
        checkOpen();
        ReferenceHeadScorer.logits(head, hidden, out);
    }

    @Override
    public LossMetrics accumulate(LossBatch batch) {
        return accumulate(batch, null);
    }

    @Override
    public LossMetrics accumulate(LossBatch batch, FloatBuffer gradHidden) {
        checkOpen();
        LossResult result = ReferenceGrpoLoss.compute(head, batch, lossConfig);
        if (gradHidden != null) {
            double[] dh = result.gradients().hidden();
            if (gradHidden.remaining() < dh.length) {
                throw new IllegalArgumentException("gradHidden has room for " + gradHidden.remaining() + " floats, dL/dh "
                        + "of " + batch.tokens() + " tokens x d=" + shape().hiddenSize() + " needs " + dh.length);
            }
            for (int i = 0; i < dh.length; i++) {
                gradHidden.put(gradHidden.position() + i, (float) dh[i]);
            }
        }
        HeadGradients g = result.gradients();
        List<double[]> parts = shape().isLora() ? List.of(g.loraA(), g.loraB()) : List.of(g.weight());
        for (int k = 0; k < parts.size(); k++) {
            double[] acc = gradient.get(k);
            double[] add = parts.get(k);
            for (int i = 0; i < acc.length; i++) {
                acc[i] += add[i];
            }
        }
        return result.metrics();
    }

    @Override
    public UpdateResult update() {
        return update(0.0);
    }

    @Override
    public UpdateResult update(double otherSumOfSquares) {
        checkOpen();
        GradientClipping.Result clip = GradientClipping.clipGlobalNorm(gradient, adamW.maxGradNorm(), otherSumOfSquares);
        if (!clip.finite()) {
            discardGradient();
            return new UpdateResult(step, clip.norm(), Double.NaN, true);
        }
        // The step runs on copies and is accepted only if everything it wrote is finite, as in the native kernel.
        List<double[]> params = head.trainableTensors();
        List<double[][]> next = new java.util.ArrayList<>();
        for (int k = 0; k < params.size(); k++) {
            double[][] t = {params.get(k).clone(), firstMoment.get(k).clone(), secondMoment.get(k).clone()};
            AdamW.step(t[0], gradient.get(k), t[1], t[2], step + 1, adamW);
            for (double[] x : t) {
                for (double value : x) {
                    if (!Float.isFinite((float) value)) { // finite in float32, the precision of the state
                        discardGradient();
                        return new UpdateResult(step, clip.norm(), Double.NaN, true);
                    }
                }
            }
            next.add(t);
        }
        step++;
        for (int k = 0; k < params.size(); k++) {
            System.arraycopy(next.get(k)[0], 0, params.get(k), 0, params.get(k).length);
            System.arraycopy(next.get(k)[1], 0, firstMoment.get(k), 0, firstMoment.get(k).length);
            System.arraycopy(next.get(k)[2], 0, secondMoment.get(k), 0, secondMoment.get(k).length);
        }
        discardGradient();
        return new UpdateResult(step, clip.norm(), clip.scale(), false);
    }

    @Override
    public void discardGradient() {
        checkOpen();
        for (double[] g : gradient) {
            java.util.Arrays.fill(g, 0.0);
        }
    }

    @Override
    public long step() {
        return step;
    }

    @Override
    public HeadWeights weights() {
        checkOpen();
        HeadShape s = shape();
        return s.isLora() ? HeadWeights.lora(s, toFloats(head.weight()), toFloats(head.loraA()), toFloats(head.loraB()))
                : HeadWeights.full(s, toFloats(head.weight()));
    }

    /** The state in float32: the reference keeps doubles, so a restore reproduces it to float precision. */
    @Override
    public OptimizerState state() {
        checkOpen();
        java.util.Map<String, float[]> t = new java.util.LinkedHashMap<>();
        t.put("weight", toFloats(head.weight()));
        List<String> trained = OptimizerState.trainedNames(shape());
        List<double[]> params = head.trainableTensors();
        for (int k = 0; k < trained.size(); k++) {
            if (shape().isLora()) {
                t.put(trained.get(k), toFloats(params.get(k)));
            }
            t.put("adam_m." + trained.get(k), toFloats(firstMoment.get(k)));
            t.put("adam_v." + trained.get(k), toFloats(secondMoment.get(k)));
        }
        return new OptimizerState(shape(), step, t);
    }

    @Override
    public void restore(OptimizerState state) {
        checkOpen();
        if (!state.shape().equals(shape())) {
            throw new IllegalArgumentException("a state of a head " + state.shape() + " cannot be restored into a head "
                    + shape());
        }
        state.requireUsable();
        List<String> trained = OptimizerState.trainedNames(shape());
        List<double[]> params = head.trainableTensors();
        if (shape().isLora()) {
            // W0 is frozen: it must be the one this optimizer was created with
            if (!java.util.Arrays.equals(state.tensor("weight"), toFloats(head.weight()))) {
                throw new IllegalArgumentException("the state's frozen base weight differs from this optimizer's");
            }
        }
        for (int k = 0; k < trained.size(); k++) {
            copyInto(state.tensor(trained.get(k)), params.get(k));
            copyInto(state.tensor("adam_m." + trained.get(k)), firstMoment.get(k));
            copyInto(state.tensor("adam_v." + trained.get(k)), secondMoment.get(k));
        }
        step = state.step();
        discardGradient();
    }

    private static float[] toFloats(double[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) x[i];
        }
        return out;
    }

    private static void copyInto(float[] from, double[] to) {
        for (int i = 0; i < to.length; i++) {
            to[i] = from[i];
        }
    }

    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this optimizer is closed");
        }
    }

    private void checkWidth(HiddenStates hidden) {
        ReferenceHeadScorer.checkWidth(head, hidden);
    }
}
