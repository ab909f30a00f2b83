package io.github.mmupt;

import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.checkpoint.Checkpoint;
import io.github.mmupt.checkpoint.CheckpointStore;
import io.github.mmupt.checkpoint.LoopState;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdvantageEstimator;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.judge.JudgeReward;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.StepListener;
import io.github.mmupt.train.Trainer;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.train.TrainingSettings;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.PseudoLabeler;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A configured self-improvement run: unsupervised post-training by majority vote (MM-UPT), or the supervised
 * GRPO and SFT baselines on the same machinery.
 *
 * <pre>{@code
 * RunResult result = MmUpt.builder()
 *         .policy(policy).sampler(sampler).optimizer(optimizer)   // required
 *         .data(unlabeled)                                        // required
 *         .steps(40).promptsPerStep(32)
 *         .sampling(SamplingParams.builder().responsesPerPrompt(8).temperature(0.7).build())
 *         .checkpoints(Path.of("runs/upt"), 10)
 *         .listener(new ProgressLog("upt"))
 *         .build()
 *         .run();
 * }</pre>
 *
 * <p>{@link #run()} drives a {@link Trainer} to the end, notifies listeners, writes checkpoints and, with
 * {@code resume(true)}, continues from the newest checkpoint. {@link #trainer()} gives the step-wise API instead.
 * The caller owns (and closes) the policy, sampler and optimizer.
 */
public final class MmUpt {

    private static final Logger LOG = LoggerFactory.getLogger(MmUpt.class);

    /** The default of {@link Builder#hiddenStateCacheBytes}: 256 MiB. */
    public static final long DEFAULT_HIDDEN_STATE_CACHE_BYTES = 256L << 20;

    private final TrainingSettings settings;
    private final Policy policy;
    private final RolloutSampler sampler;
    private final GrpoOptimizer optimizer;
    private final Dataset data;
    private final List<StepListener> listeners;
    private final Path checkpointDirectory;
    private final int checkpointEvery;
    private final boolean resume;
    private final BooleanSupplier stopRequested;

    private MmUpt(Builder b, TrainingSettings settings) {
        this.settings = settings;
        this.policy = b.policy;
        this.sampler = b.sampler;
        this.optimizer = b.optimizer;
        this.data = b.data;
        this.listeners = List.copyOf(b.listeners);
        this.checkpointDirectory = b.checkpointDirectory;
        this.checkpointEvery = b.checkpointEvery;
        this.resume = b.resume;
        this.stopRequested = b.stopRequested;
    }

    /** {@return a builder with the defaults its setters document} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the checked settings of this run} */
    public TrainingSettings settings() {
        return settings;
    }

    /** {@return the trunk this run trains on} */
    public Policy policy() {
        return policy;
    }

    /** {@return the sampler (null in SFT)} */
    public RolloutSampler sampler() {
        return sampler;
    }

    /** {@return the head and its optimizer} */
    public GrpoOptimizer optimizer() {
        return optimizer;
    }

    /** {@return the listeners, in the order they were added} */
    public List<StepListener> listeners() {
        return listeners;
    }

    /**
     * A step-wise trainer positioned at {@code start}, without looking at checkpoints: for hosts that manage the
     * loop state themselves (the continual runner trains each window this way).
     *
     * @param start the loop state to start from (its seed must be this run's)
     * @return the trainer
     */
    public Trainer trainerAt(LoopState start) {
        return new Trainer(settings, policy, sampler, optimizer, data, start);
    }

    /**
     * Puts a checkpoint's adapters into the trunk, refusing a checkpoint that does not match what the policy trains
     * (adapters saved for a frozen trunk, or none saved for a trunk with adapters).
     */
    private void restoreAdapters(Checkpoint checkpoint, Path from) throws IOException {
        Optional<io.github.mmupt.adapter.TrunkAdapters> adapters = policy.adapters();
        if (adapters.isPresent() != checkpoint.adapters().isPresent()) {
            throw new IOException("the newest checkpoint in " + from + (adapters.isPresent()
                    ? " has no trunk adapters, but this policy trains LoRA adapters on its decoder"
                    : " holds trunk adapters, but this policy's trunk is frozen (open it with the same LoRA settings)")
                    + "; refusing to resume from it");
        }
        if (adapters.isPresent()) {
            try {
                adapters.get().parameters().restore(checkpoint.adapters().get());
            } catch (IllegalArgumentException e) {
                throw new IOException("the newest checkpoint in " + from + " does not fit this policy's adapters: "
                        + e.getMessage(), e);
            }
        }
    }

    /**
     * A step-wise trainer, positioned at the newest checkpoint when {@code resume(true)} is set and one exists.
     *
     * @return the trainer, at step 0 or at the checkpoint it resumes from
     * @throws IOException when the checkpoint cannot be read or was made for another model or head
     */
    public Trainer trainer() throws IOException {
        LoopState start = LoopState.start(settings.seed());
        if (checkpointDirectory != null) {
            new CheckpointStore(checkpointDirectory).deleteStaleTemporaries();
        }
        if (resume && checkpointDirectory != null) {
            Optional<Checkpoint> last = new CheckpointStore(checkpointDirectory).latest(policy.spec().modelId(),
                    optimizer.shape());
            if (last.isPresent()) {
                LoopState saved = last.get().loop();
                if (saved.step() > settings.steps()) {
                    throw new IOException("the newest checkpoint in " + checkpointDirectory + " is at step "
                            + saved.step() + ", beyond this run's " + settings.steps() + " steps; raise steps(...) "
                            + "to continue it, or use another checkpoint directory");
                }
                restoreAdapters(last.get(), checkpointDirectory);
                optimizer.restore(last.get().optimizer());
                start = saved;
                if (saved.step() == settings.steps()) {
                    LOG.info("the checkpoint at step {} in {} completes this run of {} steps; nothing to do",
                            saved.step(), checkpointDirectory, settings.steps());
                } else {
                    LOG.info("resuming from the checkpoint at step {} in {}", start.step(), checkpointDirectory);
                }
            }
        }
        return new Trainer(settings, policy, sampler, optimizer, data, start);
    }

    /**
     * Runs to the configured number of steps, or until {@link Builder#stopWhen} asks it to stop.
     *
     * @return the statistics of every step run by this call and the trained head
     * @throws IOException when a checkpoint cannot be read or written
     */
    public RunResult run() throws IOException {
        long started = System.nanoTime();
        Trainer trainer = trainer();
        CheckpointStore store = checkpointDirectory == null ? null : new CheckpointStore(checkpointDirectory);
        List<StepStats> steps = new ArrayList<>();
        for (StepListener l : listeners) {
            l.onStart(trainer.completedSteps(), settings.steps());
        }
        while (trainer.hasNext()) {
            if (stopRequested.getAsBoolean()) {
                // between steps the state is consistent: save it (unless that step's checkpoint exists) and return
                if (store != null && !steps.isEmpty() && trainer.completedSteps() % checkpointEvery != 0) {
                    store.save(trainer.checkpoint());
                }
                LOG.info("stopped on request after step {} of {}{}", trainer.completedSteps(), settings.steps(),
                        store == null ? "" : "; resume(true) continues from the checkpoint in " + checkpointDirectory);
                break;
            }
            StepStats stats = trainer.step();
            steps.add(stats);
            for (StepListener l : listeners) {
                l.onStep(stats, settings.steps());
            }
            boolean last = !trainer.hasNext();
            if (store != null && (last || trainer.completedSteps() % checkpointEvery == 0)) {
                store.save(trainer.checkpoint());
            }
        }
        RunResult result = new RunResult(steps, optimizer.weights(), Duration.ofNanos(System.nanoTime() - started));
        for (StepListener l : listeners) {
            l.onFinish(result);
        }
        if (result.noResponseAnswered()) {
            LOG.warn("no response had an answer in any of the {} steps: the run learned nothing (see the answer "
                    + "format the prompts ask for and the sampler's AnswerExtractor)", result.steps().size());
        }
        if (result.skippedUpdates() > 0) {
            LOG.warn("{} update(s) were skipped for a non-finite loss or gradient", result.skippedUpdates());
        }
        return result;
    }

    /**
     * Settings of a run. Required: {@link #policy}, {@link #optimizer}, {@link #data}, and {@link #sampler}
     * except in SFT. Every other setting has a default, listed with its range and source; {@link #mmUptPreset()}
     * sets MM-UPT's published values at once. {@link #build()} checks the settings together and says what is
     * wrong.
     */
    public static final class Builder {
        private Policy policy;
        private RolloutSampler sampler;
        private GrpoOptimizer optimizer;
        private Dataset data;
        private TrainingMode mode = TrainingMode.UPT;
        private long steps = -1;
        private int promptsPerStep = 32;
        private int promptsPerMiniBatch = -1;
        private int iterations = 1;
        private int microBatchSequences = 64;
        private long hiddenStateCacheBytes = DEFAULT_HIDDEN_STATE_CACHE_BYTES;
        private boolean trainHead = true;
        private SamplingParams sampling = SamplingParams.mmUpt();
        private PseudoLabeler labeler = MajorityVoteLabeler.standard();
        private AdvantageEstimator advantages = AdvantageEstimator.grpo();
        private AnswerEquivalence equivalence = AnswerEquivalence.standard();
        private JudgeReward judge;
        private long seed = 1;
        private final List<StepListener> listeners = new ArrayList<>();
        private Path checkpointDirectory;
        private int checkpointEvery = 5;
        private BooleanSupplier stopRequested = () -> false;
        private boolean resume;

        private Builder() {
        }

        /**
         * Required: the frozen trunk that gives hidden states (and its tokenizer).
         *
         * @param policy the new value
         * @return this builder
         */
        public Builder policy(Policy policy) {
            this.policy = policy;
            return this;
        }

        /**
         * Required except in SFT: samples N responses per prompt with the head being trained.
         *
         * @param sampler the new value
         * @return this builder
         */
        public Builder sampler(RolloutSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /**
         * Required: the trainable head, its loss and its optimizer.
         *
         * @param optimizer the new value
         * @return this builder
         */
        public Builder optimizer(GrpoOptimizer optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /**
         * Required: the prompts (unlabeled for UPT; with gold answers for supervised GRPO, responses for SFT).
         *
         * @param data the new value
         * @return this builder
         */
        public Builder data(Dataset data) {
            this.data = data;
            return this;
        }

        /**
         * UPT (default), SUPERVISED_GRPO or SFT.
         *
         * @param mode the new value
         * @return this builder
         */
        public Builder mode(TrainingMode mode) {
            this.mode = mode;
            return this;
        }

        /**
         * Steps to run, >= 1. Default: one pass over the data. MM-UPT: 15 passes.
         *
         * @param steps the new value
         * @return this builder
         */
        public Builder steps(long steps) {
            this.steps = steps;
            return this;
        }

        /**
         * Prompts per step (rollout batch), >= 1. Default 32; MM-UPT 512.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder promptsPerStep(int n) {
            this.promptsPerStep = n;
            return this;
        }

        /**
         * The prompts per step set so far (for a continual runner sizing its windows).
         *
         * @return the current value
         */
        public int promptsPerStep() {
            return promptsPerStep;
        }

        /**
         * Prompts per optimizer update; must divide promptsPerStep, so a mini-batch holds whole groups. Default:
         * promptsPerStep (one update per step); MM-UPT 128 (four updates per step).
         *
         * @param n the new value
         * @return this builder
         */
        public Builder promptsPerMiniBatch(int n) {
            this.promptsPerMiniBatch = n;
            return this;
        }

        /**
         * Passes over each step's mini-batches (PPO epochs, mu), >= 1. Default 1, as MM-UPT.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder iterations(int n) {
            this.iterations = n;
            return this;
        }

        /**
         * Sequences per kernel call, >= 1: bounds memory, not the result. Default 64.
         *
         * @param n the new value
         * @return this builder
         */
        public Builder microBatchSequences(int n) {
            this.microBatchSequences = n;
            return this;
        }

        /**
         * The most bytes of a step's hidden states kept between its passes (scoring, then each PPO iteration), >=
         * 0; default {@value #DEFAULT_HIDDEN_STATE_CACHE_BYTES} (256 MiB). A step that needs more (its response
         * tokens x d x 4 bytes) recomputes them per micro-batch instead, so memory stays at most
         * {@code max(this, micro-batch tokens x d x 4)} whatever the step's size; 0 always recomputes. Bounds
         * memory, not the result: the trunk is frozen, and recomputing gives the same values.
         *
         * @param bytes the new value
         * @return this builder
         */
        public Builder hiddenStateCacheBytes(long bytes) {
            this.hiddenStateCacheBytes = bytes;
            return this;
        }

        /**
         * Whether the head trains; default true. False holds the head frozen and trains only the trunk's adapters
         * (the policy must have some: {@code Policy.adapters()}), clipped by their own global norm; the head's
         * optimizer then only scores and gives dL/dh, and its step stays 0.
         *
         * @param train whether the head trains
         * @return this builder
         */
        public Builder trainHead(boolean train) {
            this.trainHead = train;
            return this;
        }

        /**
         * Rollout settings. Default {@link SamplingParams#mmUpt()}; temperature must match the loss config's.
         *
         * @param params the new value
         * @return this builder
         */
        public Builder sampling(SamplingParams params) {
            this.sampling = params;
            return this;
        }

        /**
         * The pseudo-labeler. Default {@link MajorityVoteLabeler#standard()}.
         *
         * @param labeler the new value
         * @return this builder
         */
        public Builder labeler(PseudoLabeler labeler) {
            this.labeler = labeler;
            return this;
        }

        /**
         * Rewards from a judge of the responses: required in {@link TrainingMode#SRLM} (with weight 1,
         * {@link JudgeReward#only}); in {@link TrainingMode#UPT} a weight below 1 blends the vote's reward with the
         * judge's score. Default none.
         *
         * @param judge the judge and its share of the reward
         * @return this builder
         */
        public Builder judge(JudgeReward judge) {
            this.judge = judge;
            return this;
        }

        /**
         * Advantages. Default {@link AdvantageEstimator#grpo()}: group std, epsilon 1e-6 (MM-UPT).
         *
         * @param estimator the new value
         * @return this builder
         */
        public Builder advantages(AdvantageEstimator estimator) {
            this.advantages = estimator;
            return this;
        }

        /**
         * Answer equivalence for gold rewards and monitoring. Default {@link AnswerEquivalence#standard()}.
         *
         * @param equivalence the new value
         * @return this builder
         */
        public Builder equivalence(AnswerEquivalence equivalence) {
            this.equivalence = equivalence;
            return this;
        }

        /**
         * Root seed of sampling and data order. Default 1 (MM-UPT's data seed).
         *
         * @param seed the new value
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Sets listener; see the class description for its range and default.
         *
         * @param listener the new value
         * @return this builder
         */
        public Builder listener(StepListener listener) {
            this.listeners.add(listener);
            return this;
        }

        /**
         * Writes a checkpoint every {@code every} steps (and at the end) under {@code directory}. MM-UPT: 5.
         *
         * @param directory the new value
         * @param every the new value
         * @return this builder
         */
        public Builder checkpoints(Path directory, int every) {
            this.checkpointDirectory = directory;
            this.checkpointEvery = every;
            return this;
        }

        /**
         * Continue from the newest checkpoint in the checkpoint directory, if there is one (see
         * {@link CheckpointStore#latest} for which one that is and what is refused). Default false. The weights
         * then equal those of a run that never stopped bit for bit, on any number of cores: the native kernel's
         * results do not depend on its thread count (the kernel's instruction set and ONNX Runtime's intra-op
         * thread count, 1 by default, must match).
         *
         * @param resume the new value
         * @return this builder
         */
        public Builder resume(boolean resume) {
            this.resume = resume;
            return this;
        }

        /**
         * A stop request, asked before every step: once it answers true, {@link MmUpt#run()} saves a checkpoint
         * of the completed steps (when checkpoints are on and the last step has none yet) and returns, so that a
         * host or a Ctrl-C handler stops the run in a consistent state and {@code resume(true)} continues it.
         * Default: never.
         *
         * @param stop asked from the training thread between steps
         * @return this builder
         */
        public Builder stopWhen(BooleanSupplier stop) {
            if (stop == null) {
                throw new IllegalArgumentException("the stop request must not be null");
            }
            this.stopRequested = stop;
            return this;
        }

        /**
         * MM-UPT's published settings (waltonfuture/MM-UPT examples/config.yaml): 512 prompts per step in
         * mini-batches of 128, one pass, 10 responses at temperature 0.7 and top-p 0.99, up to 2048 tokens, its
         * exact voting ({@link MajorityVoteLabeler#mmUptCompatible()}), group-std advantages. Pair it with
         * {@code GrpoLossConfig.mmUpt()} and {@code AdamWConfig.mmUpt()} for the optimizer.
         *
         * @return this builder
         */
        public Builder mmUptPreset() {
            this.promptsPerStep = 512;
            this.promptsPerMiniBatch = 128;
            this.iterations = 1;
            this.sampling = SamplingParams.mmUpt();
            this.labeler = MajorityVoteLabeler.mmUptCompatible();
            this.advantages = AdvantageEstimator.grpo();
            return this;
        }

        /**
         * Checks the settings together; every failure says what and why.
         *
         * @return the run, ready to {@link #run()}
         */
        public MmUpt build() {
            List<String> missing = new ArrayList<>();
            if (policy == null) {
                missing.add("policy");
            }
            if (optimizer == null) {
                missing.add("optimizer");
            }
            if (data == null) {
                missing.add("data");
            }
            if (sampler == null && mode != TrainingMode.SFT) {
                missing.add("sampler (" + mode + " samples responses)");
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("MmUpt needs " + String.join(", ", missing));
            }
            if (optimizer.shape().hiddenSize() != policy.spec().hiddenSize()
                    || optimizer.shape().vocabSize() != policy.spec().vocabSize()) {
                throw new IllegalStateException("the optimizer's head " + optimizer.shape() + " does not fit the policy (d="
                        + policy.spec().hiddenSize() + ", V=" + policy.spec().vocabSize() + ")");
            }
            if (mode != TrainingMode.SFT
                    && Math.abs(sampling.temperature() - optimizer.lossConfig().temperature()) > 1e-12) {
                throw new IllegalStateException("the sampling temperature " + sampling.temperature() + " must equal the "
                        + "loss temperature " + optimizer.lossConfig().temperature() + ": log-probs are of logits divided "
                        + "by the rollout temperature in both (MM-UPT's convention)");
            }
            if (data.size() < promptsPerStep) {
                throw new IllegalStateException("the data has " + data.size() + " examples, fewer than promptsPerStep = "
                        + promptsPerStep);
            }
            for (Example e : data.examples()) {
                if (mode == TrainingMode.SUPERVISED_GRPO && e.goldAnswer().isEmpty()) {
                    throw new IllegalStateException("supervised GRPO rewards by the gold answer, but example "
                            + e.prompt().id() + " has none");
                }
                if (mode == TrainingMode.SFT && e.goldResponse().isEmpty()) {
                    throw new IllegalStateException("SFT trains on gold responses, but example " + e.prompt().id()
                            + " has none");
                }
            }
            if (checkpointDirectory != null && checkpointEvery < 1) {
                throw new IllegalStateException("checkpoints need an interval >= 1 step, got " + checkpointEvery);
            }
            if (!trainHead && policy.adapters().isEmpty()) {
                throw new IllegalStateException("trainHead(false) with a frozen trunk would train nothing: open the "
                        + "policy with adapters (OnnxPolicy: PolicyOptions.withLora) or let the head train");
            }
            if (resume && checkpointDirectory == null) {
                throw new IllegalStateException("resume(true) needs checkpoints(directory, every)");
            }
            int miniBatch = promptsPerMiniBatch < 0 ? promptsPerStep : promptsPerMiniBatch;
            long runSteps = steps < 0 ? Math.max(1, data.size() / promptsPerStep) : steps;
            TrainingSettings settings;
            try {
                settings = new TrainingSettings(mode, runSteps, promptsPerStep, miniBatch, iterations, microBatchSequences,
                        sampling, labeler, advantages, equivalence, seed, hiddenStateCacheBytes, Optional.ofNullable(judge),
                        trainHead);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            return new MmUpt(this, settings);
        }
    }
}
