package io.github.mmupt.train;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.adapter.AdapterParameters;
import io.github.mmupt.adapter.TrunkAdapters;
import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.checkpoint.Checkpoint;
import io.github.mmupt.checkpoint.LoopState;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.GradientClipping;
import io.github.mmupt.grpo.GroupAdvantages;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.StepPhase;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.judge.JudgeSummary;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.seed.Seeds;
import io.github.mmupt.vote.LabelAudit;
import io.github.mmupt.vote.VoteResult;
import io.github.mmupt.vote.VoteSummary;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a training loop one step at a time, for hosts that drive it themselves ({@code MmUpt.run()} uses it too).
 *
 * <p>One step: take {@code promptsPerStep} examples in the run's seeded order; sample N responses each; reward
 * them (majority vote in UPT, gold answer in supervised GRPO) and compute group advantages; score the
 * responses once with the trunk (hidden states) and the head (old and, with a KL term, reference log-probs);
 * then for {@code iterations} passes, for each mini-batch of whole groups, accumulate the loss over micro-batches
 * and apply one AdamW update. SFT replaces sampling and rewards by gold responses with advantage 1.
 *
 * <p>Label isolation: in the unsupervised modes (UPT, LMSI, SRLM) the pseudo-labeler receives only the sampled
 * answers and a judge only the sampled groups; gold answers reach {@link io.github.mmupt.vote.PseudoLabeler#audit}
 * alone, for the statistics. A judge's scores replace or blend with the vote's rewards before the advantages.
 *
 * <p>Determinism: step s samples with a seed derived from (seed, s), and pass e over the data is shuffled with
 * (seed, e), so a run resumed from a checkpoint continues exactly as the uninterrupted one.
 *
 * <p>Threading: not thread-safe; the trainer drives the policy, sampler and optimizer it was given, and does
 * not own or close them.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final TrainingSettings settings;
    private final Policy policy;
    private final RolloutSampler sampler;
    private final GrpoOptimizer optimizer;
    private final Dataset data;
    private long step;
    private final SeededOrder order;
    private boolean anyAnswer;
    private boolean warnedNoAnswers;
    private boolean anyJudged;
    private boolean warnedNoJudgments;
    /** dL/dh of a micro-batch, reused (direct, so the native kernel writes it in place); only with adapters. */
    private FloatBuffer gradHidden;

    /**
     * A trainer positioned at {@code start}.
     *
     * @param settings the run's settings
     * @param policy the trunk
     * @param sampler the sampler (null in SFT)
     * @param optimizer the head and its optimizer
     * @param data the examples
     * @param start where to start: step 0, or a checkpoint's state
     */
    public Trainer(TrainingSettings settings, Policy policy, RolloutSampler sampler, GrpoOptimizer optimizer, Dataset data,
            LoopState start) {
        if (settings == null || policy == null || optimizer == null || data == null || start == null) {
            throw new IllegalArgumentException("settings, policy, optimizer, data and start must not be null");
        }
        if (settings.mode() != TrainingMode.SFT && sampler == null) {
            throw new IllegalArgumentException(settings.mode() + " samples responses: a RolloutSampler is required");
        }
        if (data.size() < settings.promptsPerStep()) {
            throw new IllegalArgumentException("the dataset " + data.name() + " has " + data.size() + " examples, fewer "
                    + "than promptsPerStep = " + settings.promptsPerStep());
        }
        if (start.seed() != settings.seed()) {
            throw new IllegalArgumentException("the loop state was saved with seed " + start.seed() + ", this run uses "
                    + settings.seed());
        }
        this.settings = settings;
        this.policy = policy;
        this.sampler = sampler;
        this.optimizer = optimizer;
        this.data = data;
        this.step = start.step();
        this.order = new SeededOrder(data.size(), settings.seed(), start.epoch(), start.cursor());
    }

    /** {@return the run's settings} */
    public TrainingSettings settings() {
        return settings;
    }

    /** {@return whether steps remain} */
    public boolean hasNext() {
        return step < settings.steps();
    }

    /** {@return steps completed} */
    public long completedSteps() {
        return step;
    }

    /** {@return the loop's counters now} */
    public LoopState loopState() {
        return new LoopState(step, order.pass(), order.cursor(), settings.seed());
    }

    /** {@return the optimizer's state, the trunk's adapters (if any) and the loop's counters, for a checkpoint} */
    public Checkpoint checkpoint() {
        return new Checkpoint(optimizer.state(), loopState(), policy.spec().modelId(),
                policy.adapters().map(a -> a.parameters().state()));
    }

    /**
     * Runs one step.
     *
     * @return the step's statistics
     */
    public StepStats step() {
        if (!hasNext()) {
            throw new IllegalStateException("the run is complete (" + settings.steps() + " steps)");
        }
        List<Example> batch = nextExamples(settings.promptsPerStep());
        StepStats stats = settings.mode() == TrainingMode.SFT ? sftStep(batch) : rlStep(batch);
        warnIfNothingAnswers(stats);
        step++;
        return stats;
    }

    /**
     * A run in which no response has an answer trains on nothing (every reward 0, every group dropped): say so
     * at the first such step while nothing has answered yet, rather than finish silently with zero gradients.
     */
    private void warnIfNothingAnswers(StepStats stats) {
        if (settings.mode() == TrainingMode.SFT || stats.votes().prompts() == 0) {
            return;
        }
        if (stats.votes().answerRate() > 0) {
            anyAnswer = true;
        } else if (!anyAnswer && !warnedNoAnswers) {
            warnedNoAnswers = true;
            LOG.warn("step {}: none of the {} responses had an answer the extractor could find (answer rate 0), so "
                    + "every reward is 0 and nothing is learned; check that the prompts ask for the answer format "
                    + "the sampler's AnswerExtractor reads (by default the last \\boxed{{...}}) and that responses are "
                    + "long enough to reach it (maxNewTokens)", step, stats.responses());
        }
    }

    // ------------------------------------------------------------------ UPT and supervised GRPO

    private StepStats rlStep(List<Example> batch) {
        Map<StepPhase, Duration> times = new EnumMap<>(StepPhase.class);
        long t0 = System.nanoTime();
        List<Prompt> prompts = batch.stream().map(Example::prompt).toList();
        List<RolloutGroup> groups = sampler.sample(prompts, settings.sampling(), Seeds.step(settings.seed(), step));
        if (groups.size() != prompts.size()) {
            throw new IllegalStateException("the sampler returned " + groups.size() + " groups for " + prompts.size() + " prompts");
        }
        long t1 = System.nanoTime();
        times.put(StepPhase.ROLLOUT, Duration.ofNanos(t1 - t0));

        List<VoteResult> votes = new ArrayList<>();
        List<LabelAudit> audits = new ArrayList<>();
        List<ImmutableDoubleArray> rewards = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            RolloutGroup group = groups.get(g);
            // the labeler sees the sampled answers only; the gold answer never enters this call
            VoteResult vote = settings.labeler().label(group.answers());
            votes.add(vote);
            Optional<String> gold = batch.get(g).goldAnswer();
            gold.ifPresent(answer -> audits.add(settings.labeler().audit(vote, answer)));
            rewards.add(settings.mode() != TrainingMode.SUPERVISED_GRPO ? vote.rewards() : goldRewards(group,
                    gold.orElseThrow(() -> new IllegalStateException("supervised GRPO needs gold answers; example "
                            + group.prompt().id() + " has none"))));
        }
        Optional<JudgeSummary> judged = settings.judge().map(j -> judgeRewards(j, groups, rewards));
        if (settings.mode() == TrainingMode.LMSI) {
            return lmsiStep(groups, votes, audits, rewards, times, t1);
        }
        GroupAdvantages advantages = settings.advantages().compute(rewards);
        List<Sequence> sequences = new ArrayList<>();
        List<int[]> groupRanges = new ArrayList<>(); // [first sequence, end) per kept group
        for (int g = 0; g < groups.size(); g++) {
            if (!advantages.kept().get(g)) {
                continue;
            }
            int first = sequences.size();
            List<Rollout> rollouts = groups.get(g).rollouts();
            for (int r = 0; r < rollouts.size(); r++) {
                sequences.add(new Sequence(groups.get(g).prompt(), rollouts.get(r).tokenIds(), advantages.advantages().get(g).get(r),
                        rollouts.get(r).finish() == FinishReason.NON_FINITE));
            }
            groupRanges.add(new int[] {first, sequences.size()});
        }
        long t2 = System.nanoTime();
        times.put(StepPhase.VOTE, Duration.ofNanos(t2 - t1));

        TrainOutcome outcome = train(sequences, groupRanges, times);
        return rlStats(groups, votes, audits, rewards, outcome, times, judged);
    }

    /**
     * LMSI (Huang et al., 2022): the responses whose answer is the majority's, in groups whose vote the labeler
     * accepts (its {@code minAgreement} is the confidence threshold), are trained on as if they were gold
     * responses (advantage 1, the SFT gradient); the others, and groups that abstain, are not used. Like MM-UPT it
     * sees no gold answer: the vote's rewards select the responses.
     */
    private StepStats lmsiStep(List<RolloutGroup> groups, List<VoteResult> votes, List<LabelAudit> audits,
            List<ImmutableDoubleArray> rewards, Map<StepPhase, Duration> times, long t1) {
        List<Sequence> sequences = new ArrayList<>();
        List<int[]> ranges = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            if (votes.get(g).label().isEmpty()) {
                continue;
            }
            int first = sequences.size();
            List<Rollout> rollouts = groups.get(g).rollouts();
            for (int r = 0; r < rollouts.size(); r++) {
                Rollout rollout = rollouts.get(r);
                if (rewards.get(g).get(r) > 0 && rollout.finish() != FinishReason.NON_FINITE && rollout.length() > 0) {
                    sequences.add(new Sequence(groups.get(g).prompt(), rollout.tokenIds(), 1.0, false));
                }
            }
            if (sequences.size() > first) {
                ranges.add(new int[] {first, sequences.size()});
            }
        }
        times.put(StepPhase.VOTE, Duration.ofNanos(System.nanoTime() - t1));
        TrainOutcome outcome = train(sequences, ranges, times);
        return rlStats(groups, votes, audits, rewards, outcome, times, Optional.empty());
    }

    /**
     * Replaces each group's vote rewards by their blend with the judge's scores (SRLM: the scores alone). The
     * judge sees the sampled groups only, like the labeler.
     */
    private JudgeSummary judgeRewards(JudgeReward judge, List<RolloutGroup> groups, List<ImmutableDoubleArray> rewards) {
        List<List<OptionalDouble>> scores = judge.judge().judge(groups, Seeds.judge(settings.seed(), step));
        if (scores.size() != groups.size()) {
            throw new IllegalStateException("the judge returned scores for " + scores.size() + " groups of " + groups.size());
        }
        int judged = 0;
        int responses = 0;
        double sum = 0;
        for (int g = 0; g < groups.size(); g++) {
            rewards.set(g, judge.blend(rewards.get(g), scores.get(g)));
            for (OptionalDouble score : scores.get(g)) {
                if (score.isPresent()) {
                    judged++;
                    sum += score.getAsDouble();
                }
            }
            responses += groups.get(g).size();
        }
        LOG.debug("step {}: the judge scored {} of {} responses", step, judged, responses);
        if (judged > 0) {
            anyJudged = true;
        } else if (!anyJudged && !warnedNoJudgments) {
            warnedNoJudgments = true;
            LOG.warn("step {}: the judge gave no readable score for any of the {} responses, so the judge's part of "
                    + "every reward is 0; check that its prompt asks for the format JudgeScores reads (\"Score: N\" "
                    + "within the prompt's scale) and that judgments are long enough to reach it", step, responses);
        }
        return new JudgeSummary(responses, judged, judged == 0 ? Double.NaN : Math.min(1.0, sum / judged));
    }

    /** The statistics of a step that sampled and voted (MM-UPT, supervised GRPO, LMSI, SRLM). */
    private StepStats rlStats(List<RolloutGroup> groups, List<VoteResult> votes, List<LabelAudit> audits,
            List<ImmutableDoubleArray> rewards, TrainOutcome outcome, Map<StepPhase, Duration> times,
            Optional<JudgeSummary> judge) {
        double rewardMean = rewards.stream().flatMapToDouble(a -> java.util.Arrays.stream(a.toArray())).average().orElse(0);
        int responses = groups.stream().mapToInt(RolloutGroup::size).sum();
        double meanLength = groups.stream().flatMap(gr -> gr.rollouts().stream()).mapToInt(Rollout::length).average()
                .orElse(0);
        return new StepStats(step, rewardMean, VoteSummary.of(votes, audits), outcome.loss(), outcome.updates(), responses,
                meanLength, outcome.meanLogProb(), times, judge);
    }

    private ImmutableDoubleArray goldRewards(RolloutGroup group, String gold) {
        AnswerEquivalence eq = settings.equivalence();
        AnswerEquivalence.Prepared preparedGold = eq.prepare(gold);
        double[] r = new double[group.size()];
        for (int i = 0; i < r.length; i++) {
            Optional<String> answer = group.rollouts().get(i).answer();
            r[i] = answer.isPresent() && eq.equivalent(eq.prepare(answer.get()), preparedGold) ? 1.0 : 0.0;
        }
        return ImmutableDoubleArray.copyOf(r);
    }

    // ------------------------------------------------------------------ SFT

    private StepStats sftStep(List<Example> batch) {
        Map<StepPhase, Duration> times = new EnumMap<>(StepPhase.class);
        int eos = policy.spec().endOfSequence().get(0);
        List<Sequence> sequences = new ArrayList<>();
        List<int[]> ranges = new ArrayList<>();
        for (Example e : batch) {
            String response = e.goldResponse().orElseThrow(() -> new IllegalStateException("SFT needs gold responses; "
                    + "example " + e.prompt().id() + " has none"));
            ImmutableIntArray tokens = ImmutableIntArray.builder().addAll(policy.tokenizer().encode(response)).add(eos).build();
            ranges.add(new int[] {sequences.size(), sequences.size() + 1});
            sequences.add(new Sequence(e.prompt(), tokens, 1.0, false));
        }
        TrainOutcome outcome = train(sequences, ranges, times);
        double meanLength = sequences.stream().mapToInt(s -> s.tokens().length()).average().orElse(0);
        return new StepStats(step, Double.NaN, VoteSummary.of(List.of(), List.of()), outcome.loss(), outcome.updates(),
                sequences.size(), meanLength, outcome.meanLogProb(), times);
    }

    // ------------------------------------------------------------------ the update

    /** A response to train on, with its sequence-level advantage. */
    /** One sequence to train on; {@code corrupt} when its sampling hit a non-finite model output. */
    private record Sequence(Prompt prompt, ImmutableIntArray tokens, double advantage, boolean corrupt) {
    }

    private record TrainOutcome(LossMetrics loss, List<UpdateResult> updates, double meanLogProb) {
    }

    /**
     * Scores the sequences once, then runs {@code iterations} passes of one update per mini-batch of
     * {@code promptsPerMiniBatch} groups, accumulating over micro-batches. Hidden states live one micro-batch at
     * a time unless the whole step fits in the hidden-state cache ({@link StepHiddenStates}).
     */
    private TrainOutcome train(List<Sequence> sequences, List<int[]> groups, Map<StepPhase, Duration> times) {
        if (sequences.isEmpty()) {
            LOG.info("step {}: no group left to train on (all dropped)", step);
            return new TrainOutcome(LossMetrics.EMPTY, List.of(), Double.NaN);
        }
        long t0 = System.nanoTime();
        ImmutableIntArray.Builder targetsB = ImmutableIntArray.builder();
        int[] offsets = new int[sequences.size() + 1];
        for (int i = 0; i < sequences.size(); i++) {
            targetsB.addAll(sequences.get(i).tokens());
            offsets[i + 1] = offsets[i] + sequences.get(i).tokens().length();
        }
        ImmutableIntArray targets = targetsB.build();
        List<StepHiddenStates.MicroBatch> micro = new ArrayList<>();
        int[][] miniBatches = miniBatches(groups, micro); // {first micro-batch, end micro-batch, first, end sequence}
        StepHiddenStates hidden = new StepHiddenStates(policy, sequences.stream()
                .map(s -> new PromptResponse(s.prompt(), s.tokens())).toList(), micro, targets.length(),
                settings.hiddenStateCacheBytes());
        boolean kl = optimizer.lossConfig().kl().enabled();
        Optional<TrunkAdapters> adapters = policy.adapters();
        double[] oldLogProbs = new double[targets.length()];
        double[] refLogProbs = new double[kl ? targets.length() : 0];
        for (int m = 0; m < micro.size(); m++) {
            int r0 = offsets[micro.get(m).first()];
            int r1 = offsets[micro.get(m).end()];
            HiddenStates h = hidden.get(m);
            ImmutableIntArray y = targets.subArray(r0, r1);
            System.arraycopy(optimizer.score(h, y, HeadVersion.CURRENT).logProbs().toArray(), 0, oldLogProbs, r0, r1 - r0);
            if (kl) {
                // the reference policy is the base model: the frozen head on the trunk without its adapters
                HiddenStates ref = adapters.isPresent() ? adapters.get().referenceHiddenStates(hidden.sequences(m)) : h;
                System.arraycopy(optimizer.score(ref, y, HeadVersion.REFERENCE).logProbs().toArray(), 0, refLogProbs, r0,
                        r1 - r0);
            }
        }
        ImmutableDoubleArray old = ImmutableDoubleArray.copyOf(oldLogProbs);
        ImmutableDoubleArray ref = ImmutableDoubleArray.copyOf(refLogProbs);
        double[] tokenAdvantages = new double[offsets[sequences.size()]];
        for (int i = 0; i < sequences.size(); i++) {
            java.util.Arrays.fill(tokenAdvantages, offsets[i], offsets[i + 1], sequences.get(i).advantage());
        }
        ImmutableDoubleArray advantages = ImmutableDoubleArray.copyOf(tokenAdvantages);
        long t1 = System.nanoTime();
        times.put(StepPhase.SCORE, Duration.ofNanos(t1 - t0));

        LossMetrics total = LossMetrics.EMPTY;
        List<UpdateResult> updates = new ArrayList<>();
        for (int it = 0; it < settings.iterations(); it++) {
            for (int[] mb : miniBatches) {
                int s0 = mb[2];
                int s1 = mb[3];
                int[] lengths = new int[s1 - s0];
                for (int s = s0; s < s1; s++) {
                    lengths[s - s0] = sequences.get(s).tokens().length();
                }
                double[] weights = optimizer.lossConfig().tokenWeights(lengths);
                String corrupt = nonFiniteScores(sequences, offsets, s0, s1, old, kl ? ref : null);
                if (corrupt != null) {
                    // a NaN/Inf log-prob comes from the trunk's hidden states or the head: training on it would
                    // poison the weights, so this mini-batch is skipped like a non-finite gradient
                    LOG.warn("step {}: skipping an update: {}", step, corrupt);
                    updates.add(new UpdateResult(optimizer.step(), Double.NaN, 1.0, true));
                    continue;
                }
                for (int m = mb[0]; m < mb[1]; m++) {
                    int r0 = offsets[micro.get(m).first()];
                    int r1 = offsets[micro.get(m).end()];
                    LossBatch batch = new LossBatch(hidden.get(m), targets.subArray(r0, r1),
                            advantages.subArray(r0, r1), old.subArray(r0, r1), kl ? ref.subArray(r0, r1) : ref,
                            ImmutableDoubleArray.copyOf(java.util.Arrays.copyOfRange(weights, r0 - offsets[s0],
                                    r1 - offsets[s0])));
                    if (adapters.isPresent()) {
                        total = total.plus(accumulateThroughAdapters(adapters.get(), batch, hidden.sequences(m)));
                    } else {
                        total = total.plus(optimizer.accumulate(batch));
                    }
                }
                UpdateResult update = adapters.isPresent() ? updateWithAdapters(adapters.get(), hidden) : optimizer.update();
                if (update.skipped() && !Double.isFinite(update.gradNorm())) {
                    LOG.warn("step {}: the gradient was not finite (norm {}); the update was skipped", step,
                            update.gradNorm());
                } else if (update.skipped()) {
                    LOG.warn("step {}: the update would have made a weight or an AdamW moment non-finite (gradient "
                            + "norm {}); it was skipped", step, update.gradNorm());
                }
                updates.add(update);
            }
        }
        times.put(StepPhase.UPDATE, Duration.ofNanos(System.nanoTime() - t1));
        double meanLogProb = java.util.Arrays.stream(oldLogProbs).average().orElse(Double.NaN);
        return new TrainOutcome(total, updates, meanLogProb);
    }

    /**
     * The head's loss and gradient for one micro-batch, then dL/dh carried back into the trunk's adapters.
     */
    private LossMetrics accumulateThroughAdapters(TrunkAdapters adapters, LossBatch batch, List<PromptResponse> sequences) {
        int d = policy.spec().hiddenSize();
        long floats = (long) batch.tokens() * d;
        if (gradHidden == null || gradHidden.capacity() < floats) {
            gradHidden = java.nio.ByteBuffer.allocateDirect(Math.toIntExact(Math.multiplyExact(floats, Float.BYTES)))
                    .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        }
        FloatBuffer dh = gradHidden.duplicate().clear().limit((int) floats);
        LossMetrics metrics = optimizer.accumulate(batch, dh);
        adapters.backward(sequences, new HiddenStates(batch.tokens(), d, dh));
        return metrics;
    }

    /**
     * One AdamW step over head and adapters with one global-norm clip: the head's optimizer measures the norm over
     * both and skips both when it is not finite; the adapters take its clip scale. The kept hidden states are stale
     * after it.
     */
    private UpdateResult updateWithAdapters(TrunkAdapters adapters, StepHiddenStates hidden) {
        AdapterParameters parameters = adapters.parameters();
        double sumOfSquares = parameters.gradientSumOfSquares();
        if (!settings.trainHead()) {
            return updateAdaptersAlone(parameters, sumOfSquares, hidden);
        }
        UpdateResult update = optimizer.update(Double.isFinite(sumOfSquares) ? sumOfSquares : Double.NaN);
        if (update.skipped()) {
            parameters.discardGradient();
            return update;
        }
        if (!parameters.update(optimizer.adamW(), update.clipScale())) {
            LOG.warn("step {}: the adapters' update would have made a value non-finite; the head was updated, the "
                    + "adapters were not", step);
        }
        hidden.invalidate();
        return update;
    }

    /**
     * The head is frozen: its gradient is dropped, and the adapters are clipped by their own global norm (PyTorch's
     * rule, as the head kernel's) and stepped; the result counts the adapters' updates.
     */
    private UpdateResult updateAdaptersAlone(AdapterParameters parameters, double sumOfSquares, StepHiddenStates hidden) {
        optimizer.discardGradient();
        // the norm and scale of PyTorch's rule, over the adapters' gradient alone (given by its sum of squares)
        GradientClipping.Result clip = GradientClipping.clipGlobalNorm(List.of(), optimizer.adamW().maxGradNorm(),
                sumOfSquares);
        if (!clip.finite()) {
            parameters.discardGradient();
            return new UpdateResult(parameters.step(), clip.norm(), Double.NaN, true);
        }
        if (!parameters.update(optimizer.adamW(), clip.scale())) {
            return new UpdateResult(parameters.step(), clip.norm(), Double.NaN, true);
        }
        hidden.invalidate();
        return new UpdateResult(parameters.step(), clip.norm(), clip.scale(), false);
    }

    /**
     * Mini-batches of {@code promptsPerMiniBatch} whole groups, each as {first micro-batch, end micro-batch,
     * first sequence, end sequence}; their sequences, cut into micro-batches of {@code microBatchSequences}, are
     * appended to {@code micro}, the one partition every pass uses.
     */
    private int[][] miniBatches(List<int[]> groups, List<StepHiddenStates.MicroBatch> micro) {
        int perMiniBatch = settings.promptsPerMiniBatch();
        int count = (groups.size() + perMiniBatch - 1) / perMiniBatch;
        int[][] out = new int[count][];
        for (int i = 0; i < count; i++) {
            int s0 = groups.get(i * perMiniBatch)[0];
            int s1 = groups.get(Math.min(groups.size(), (i + 1) * perMiniBatch) - 1)[1];
            int first = micro.size();
            for (int m0 = s0; m0 < s1; m0 += settings.microBatchSequences()) {
                micro.add(new StepHiddenStates.MicroBatch(m0, Math.min(s1, m0 + settings.microBatchSequences())));
            }
            out[i] = new int[] {first, micro.size(), s0, s1};
        }
        return out;
    }

    /** Describes the first sequence in [s0, s1) with a non-finite old or reference log-prob; null if none. */
    private static String nonFiniteScores(List<Sequence> sequences, int[] offsets, int s0, int s1, ImmutableDoubleArray old,
            ImmutableDoubleArray ref) {
        for (int s = s0; s < s1; s++) {
            if (sequences.get(s).corrupt()) {
                return "response " + (s - s0) + " to prompt " + sequences.get(s).prompt().id() + " was cut when the "
                        + "model's output went non-finite during sampling (NaN/Inf in the trunk's hidden states or logits)";
            }
            for (int r = offsets[s]; r < offsets[s + 1]; r++) {
                double o = old.get(r);
                double f = ref == null ? 0.0 : ref.get(r);
                if (!Double.isFinite(o) || !Double.isFinite(f)) {
                    return "response " + (s - s0) + " to prompt " + sequences.get(s).prompt().id() + " has a non-finite "
                            + (Double.isFinite(o) ? "reference" : "old") + " log-prob at token " + (r - offsets[s])
                            + " (NaN/Inf in the trunk's hidden states or the head)";
                }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ data order

    private List<Example> nextExamples(int count) {
        List<Example> out = new ArrayList<>(count);
        while (out.size() < count) {
            out.add(data.examples().get(order.next()));
        }
        return out;
    }
}
