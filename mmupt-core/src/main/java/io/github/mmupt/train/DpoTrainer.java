package io.github.mmupt.train;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.DpoLoss;
import io.github.mmupt.grpo.DpoPairs;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.preference.PreferencePair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DPO on preference pairs (STIC's second stage), on the same head kernel as GRPO: per step, {@code pairsPerStep}
 * pairs in a seeded order; both responses of each pair scored by the current head and by the reference policy
 * (a frozen {@link HeadScorer}, a setting: usually the head training started from); DPO's loss and
 * per-sequence coefficients from those sequence log-probs ({@link GrpoOptimizer#dpoPairs}: native in the
 * kernel, {@link io.github.mmupt.grpo.DpoLoss} in the reference); then the gradient through the kernel's train
 * mode, whose loss at ratio 1 (old log-probs = the current ones) with advantage {@code -c} and weight 1 has
 * exactly DPO's gradient {@code c * dlogp/dtheta} per token; one AdamW update per step.
 *
 * <pre>{@code
 * try (HeadScorer reference = HeadOptimizers.scorer(policy.initialHead(), temperature, KernelOptions.defaults())) {
 *     DpoTrainer.Result r = DpoTrainer.builder().policy(policy).optimizer(head).reference(reference).pairs(pairs)
 *             .beta(0.1).steps(30).pairsPerStep(16).seed(7).build().run();
 * }
 * policy.exportModel(out, r.finalHead());
 * }</pre>
 *
 * <p>The optimizer must have no KL term (DPO's reference enters through its margin); its loss temperature
 * applies to DPO's log-probs too, and the reference scorer must use the same. Hidden states are kept for the step (both passes use them) when they fit in
 * {@code hiddenStateCacheBytes}, else recomputed per micro-batch. Deterministic for the same seed and inputs; not
 * thread-safe; the caller owns policy and optimizer.
 */
public final class DpoTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(DpoTrainer.class);

    /**
     * What one DPO step did.
     *
     * @param step the step, from 0
     * @param loss mean DPO loss of its pairs before the update
     * @param accuracy share of its pairs whose margin was positive
     * @param meanMargin mean margin
     * @param update the optimizer's update
     */
    public record Step(long step, double loss, double accuracy, double meanMargin, UpdateResult update) {
    }

    /**
     * A finished run.
     *
     * @param steps every step, in order
     * @param finalHead the trained head
     */
    public record Result(List<Step> steps, io.github.mmupt.head.HeadWeights finalHead) {

        /**
         * Copies the steps.
         *
         * @param steps the component {@code steps}, described with the class
         * @param finalHead the component {@code finalHead}, described with the class
         */
        public Result {
            steps = List.copyOf(steps);
        }
    }

    private final Policy policy;
    private final GrpoOptimizer optimizer;
    private final HeadScorer reference;
    private final List<PreferencePair> pairs;
    private final double beta;
    private final long steps;
    private final int pairsPerStep;
    private final int microBatchSequences;
    private final long seed;
    private final long cacheBytes;

    private DpoTrainer(Builder b) {
        this.policy = b.policy;
        this.optimizer = b.optimizer;
        this.reference = b.reference;
        this.pairs = List.copyOf(b.pairs);
        this.beta = b.beta;
        this.steps = b.steps;
        this.pairsPerStep = b.pairsPerStep;
        this.microBatchSequences = b.microBatchSequences;
        this.seed = b.seed;
        this.cacheBytes = b.cacheBytes;
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return every step run to the end, and the trained head} */
    public Result run() {
        List<Step> out = new ArrayList<>();
        SeededOrder order = new SeededOrder(pairs.size(), seed, 0, 0);
        for (long s = 0; s < steps; s++) {
            List<PreferencePair> batch = new ArrayList<>(pairsPerStep);
            while (batch.size() < pairsPerStep) {
                batch.add(pairs.get(order.next()));
            }
            out.add(step(s, batch));
        }
        return new Result(out, optimizer.weights());
    }

    /** Sequence 2i is pair i's chosen response, 2i + 1 its rejected one. */
    private Step step(long s, List<PreferencePair> batch) {
        List<PromptResponse> sequences = new ArrayList<>();
        for (PreferencePair p : batch) {
            sequences.add(new PromptResponse(p.prompt(), p.chosen()));
            sequences.add(new PromptResponse(p.prompt(), p.rejected()));
        }
        int[] offsets = new int[sequences.size() + 1];
        ImmutableIntArray.Builder targetsB = ImmutableIntArray.builder();
        for (int i = 0; i < sequences.size(); i++) {
            targetsB.addAll(sequences.get(i).responseTokens());
            offsets[i + 1] = offsets[i] + sequences.get(i).responseTokens().length();
        }
        ImmutableIntArray targets = targetsB.build();
        List<StepHiddenStates.MicroBatch> micro = new ArrayList<>();
        for (int m = 0; m < sequences.size(); m += microBatchSequences) {
            micro.add(new StepHiddenStates.MicroBatch(m, Math.min(sequences.size(), m + microBatchSequences)));
        }
        StepHiddenStates hidden = new StepHiddenStates(policy, sequences, micro, targets.length(), cacheBytes);

        double[] current = new double[targets.length()];
        double[] sum = new double[sequences.size()];
        double[] refSum = new double[sequences.size()];
        for (int m = 0; m < micro.size(); m++) {
            int r0 = offsets[micro.get(m).first()];
            int r1 = offsets[micro.get(m).end()];
            HiddenStates h = hidden.get(m);
            ImmutableIntArray y = targets.subArray(r0, r1);
            double[] lp = optimizer.score(h, y, HeadVersion.CURRENT).logProbs().toArray();
            double[] ref = reference.score(h, y, HeadVersion.CURRENT).logProbs().toArray();
            System.arraycopy(lp, 0, current, r0, lp.length);
            for (int q = micro.get(m).first(); q < micro.get(m).end(); q++) {
                for (int t = offsets[q]; t < offsets[q + 1]; t++) {
                    sum[q] += lp[t - r0];
                    refSum[q] += ref[t - r0];
                }
            }
        }
        int n = batch.size();
        double[] chosen = new double[n];
        double[] rejected = new double[n];
        double[] refChosen = new double[n];
        double[] refRejected = new double[n];
        for (int i = 0; i < n; i++) {
            chosen[i] = sum[2 * i];
            rejected[i] = sum[2 * i + 1];
            refChosen[i] = refSum[2 * i];
            refRejected[i] = refSum[2 * i + 1];
        }
        DpoPairs d;
        try {
            d = optimizer.dpoPairs(chosen, rejected, refChosen, refRejected, beta);
        } catch (IllegalArgumentException e) {
            // a non-finite log-prob comes from the trunk or the head: skip the step as a non-finite gradient is
            LOG.warn("DPO step {}: skipped: {}", s, e.getMessage());
            optimizer.discardGradient();
            return new Step(s, Double.NaN, Double.NaN, Double.NaN, new UpdateResult(optimizer.step(), Double.NaN, 1.0, true));
        }
        double[] coefficients = new double[2 * n];
        for (int i = 0; i < n; i++) {
            coefficients[2 * i] = d.chosenCoefficients()[i];
            coefficients[2 * i + 1] = d.rejectedCoefficients()[i];
        }
        for (int m = 0; m < micro.size(); m++) {
            int q0 = micro.get(m).first();
            int q1 = micro.get(m).end();
            int[] lengths = new int[q1 - q0];
            for (int q = q0; q < q1; q++) {
                lengths[q - q0] = offsets[q + 1] - offsets[q];
            }
            optimizer.accumulate(DpoLoss.surrogate(hidden.get(m), targets.subArray(offsets[q0], offsets[q1]),
                    Arrays.copyOfRange(current, offsets[q0], offsets[q1]), lengths,
                    Arrays.copyOfRange(coefficients, q0, q1)));
        }
        UpdateResult update = optimizer.update();
        if (update.skipped()) {
            LOG.warn("DPO step {}: the update was skipped (gradient norm {})", s, update.gradNorm());
        }
        LOG.debug("DPO step {}: loss {} accuracy {} margin {}", s, d.loss(), d.accuracy(), d.meanMargin());
        return new Step(s, d.loss(), d.accuracy(), d.meanMargin(), update);
    }

    /**
     * Settings of a DPO run. Required: {@link #policy}, {@link #optimizer} (no KL term), {@link #reference},
     * {@link #pairs}.
     * Defaults: beta 0.1 (DPO's and STIC's), 1 step, 16 pairs per step, 64 sequences per micro-batch, seed 1, a
     * 256 MiB hidden-state cache.
     */
    public static final class Builder {
        private Policy policy;
        private GrpoOptimizer optimizer;
        private HeadScorer reference;
        private List<PreferencePair> pairs;
        private double beta = 0.1;
        private long steps = 1;
        private int pairsPerStep = 16;
        private int microBatchSequences = 64;
        private long seed = 1;
        private long cacheBytes = 256L << 20;

        private Builder() {
        }

        /**
         * Required: the trunk.
         *
         * @param policy the new value
         * @return this builder
         */
        public Builder policy(Policy policy) {
            this.policy = policy;
            return this;
        }

        /**
         * Required: the head and its optimizer, created with the reference head and without a KL term.
         *
         * @param optimizer the new value
         * @return this builder
         */
        public Builder optimizer(GrpoOptimizer optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /**
         * Required: DPO's reference policy, a frozen head at the optimizer's temperature (the trainer does not
         * close it).
         *
         * @param reference the new value
         * @return this builder
         */
        public Builder reference(HeadScorer reference) {
            this.reference = reference;
            return this;
        }

        /**
         * Required: the preference pairs (at least one).
         *
         * @param pairs the new value
         * @return this builder
         */
        public Builder pairs(List<PreferencePair> pairs) {
            this.pairs = pairs;
            return this;
        }

        /**
         * DPO's beta, finite and > 0. Default 0.1.
         *
         * @param beta the new value
         * @return this builder
         */
        public Builder beta(double beta) {
            this.beta = beta;
            return this;
        }

        /**
         * Steps (updates), >= 1. Default 1.
         *
         * @param steps the new value
         * @return this builder
         */
        public Builder steps(long steps) {
            this.steps = steps;
            return this;
        }

        /**
         * Pairs per step, >= 1 (pairs repeat in a new order when there are fewer). Default 16.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder pairsPerStep(int n) {
            this.pairsPerStep = n;
            return this;
        }

        /**
         * Sequences per kernel call, >= 1 (memory, not the result). Default 64.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder microBatchSequences(int n) {
            this.microBatchSequences = n;
            return this;
        }

        /**
         * The seed of the pairs' order. Default 1.
         *
         * @param seed the new value
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Keep a step's hidden states between its two passes when they need at most this many bytes. Default 256 MiB.
         *
         * @param bytes the new value
         * @return this builder
         */
        public Builder hiddenStateCacheBytes(long bytes) {
            this.cacheBytes = bytes;
            return this;
        }

        /** {@return the trainer, its settings checked together} */
        public DpoTrainer build() {
            if (policy == null || optimizer == null || reference == null || pairs == null) {
                throw new IllegalStateException("DpoTrainer needs a policy, an optimizer, a reference head and pairs");
            }
            if (Math.abs(reference.temperature() - optimizer.temperature()) > 1e-12) {
                throw new IllegalStateException("the reference head scores at temperature " + reference.temperature()
                        + ", the optimizer at " + optimizer.temperature() + ": DPO's margin needs one temperature");
            }
            if (reference.shape().vocabSize() != optimizer.shape().vocabSize()
                    || reference.shape().hiddenSize() != optimizer.shape().hiddenSize()) {
                throw new IllegalStateException("the reference head " + reference.shape() + " does not fit the optimizer's "
                        + optimizer.shape());
            }
            if (pairs.isEmpty()) {
                throw new IllegalStateException("DpoTrainer needs at least one preference pair");
            }
            if (optimizer.lossConfig().kl().enabled()) {
                throw new IllegalStateException("DPO's reference enters through its margin; give it an optimizer without "
                        + "a KL term (KlPenalty.none()), got beta " + optimizer.lossConfig().kl().beta());
            }
            if (!(beta > 0 && Double.isFinite(beta))) {
                throw new IllegalStateException("DPO's beta must be finite and > 0, got " + beta);
            }
            if (steps < 1 || pairsPerStep < 1 || microBatchSequences < 1 || cacheBytes < 0) {
                throw new IllegalStateException("steps, pairsPerStep and microBatchSequences must be >= 1 and "
                        + "hiddenStateCacheBytes >= 0");
            }
            if (optimizer.shape().hiddenSize() != policy.spec().hiddenSize()
                    || optimizer.shape().vocabSize() != policy.spec().vocabSize()) {
                throw new IllegalStateException("the optimizer's head " + optimizer.shape() + " does not fit the policy (d="
                        + policy.spec().hiddenSize() + ", V=" + policy.spec().vocabSize() + ")");
            }
            return new DpoTrainer(this);
        }
    }
}
