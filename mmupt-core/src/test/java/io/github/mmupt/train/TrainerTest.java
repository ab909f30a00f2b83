package io.github.mmupt.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.MmUpt;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PolicySpec;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.policy.Tokenizer;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.vote.LabelAudit;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.PseudoLabeler;
import io.github.mmupt.vote.VoteResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loop with test doubles: what reaches the labeler, what is reported, what is written. */
class TrainerTest {

    private static final String GOLD = "GOLD-7";

    @TempDir
    Path dir;

    private static GrpoOptimizer optimizer() {
        return FakeModels.optimizer();
    }

    private static Dataset data(int n) {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            examples.add(new Example(new Prompt("p" + i, List.of(), "question number " + "x".repeat(i)), Optional.of(GOLD),
                    Optional.of("1 2")));
        }
        return Dataset.of("d", examples);
    }

    /** Records what the loop hands to the labeler. */
    private static final class SpyLabeler implements PseudoLabeler {
        final PseudoLabeler inner = MajorityVoteLabeler.standard();
        final List<List<Optional<String>>> labelled = new ArrayList<>();
        final List<String> audited = new ArrayList<>();

        @Override
        public VoteResult label(List<Optional<String>> answers) {
            labelled.add(List.copyOf(answers));
            return inner.label(answers);
        }

        @Override
        public LabelAudit audit(VoteResult vote, String goldAnswer) {
            audited.add(goldAnswer);
            return inner.audit(vote, goldAnswer);
        }
    }

    @Test
    void theLabelerSeesSampledAnswersOnlyAndTheGoldAnswerOnlyInTheAudit() throws Exception {
        SpyLabeler spy = new SpyLabeler();
        try (GrpoOptimizer opt = optimizer()) {
            RunResult r = MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(FakeModels.sampler())
                    .sampling(FakeModels.sampling()).labeler(spy).data(data(8)).promptsPerStep(4).steps(2).build().run();
            assertThat(spy.labelled).hasSize(8);
            assertThat(spy.labelled).allSatisfy(answers -> assertThat(answers).hasSize(6)
                    .noneMatch(a -> a.isPresent() && a.get().contains("GOLD")));
            assertThat(spy.audited).hasSize(8).containsOnly(GOLD);
            assertThat(r.steps().get(0).votes().labelAccuracy()).hasValue(0.0);
            assertThat(r.steps().get(0).rewardMean()).as("rewards come from the votes, not from the gold").isPositive();
        }
    }

    @Test
    void aNonFiniteGradientSkipsTheUpdateAndIsReported() throws Exception {
        Policy nan = nanPolicy();
        try (GrpoOptimizer opt = optimizer()) {
            var before = opt.weights();
            RunResult r = MmUpt.builder().policy(nan).optimizer(opt).mode(TrainingMode.SFT).data(data(4)).promptsPerStep(4)
                    .steps(1).build().run();
            StepStats s = r.steps().get(0);
            assertThat(s.skippedUpdates()).isEqualTo(1);
            assertThat(r.skippedUpdates()).isEqualTo(1);
            assertThat(opt.weights()).as("the head is untouched").isEqualTo(before);
            assertThat(MetricsFile.toMap(s)).containsEntry("skipped_updates", 1L);
        }
    }

    @Test
    void recomputingHiddenStatesPerMicroBatchTrainsExactlyAsKeepingThem() throws Exception {
        // two PPO passes over two mini-batches of 3-sequence micro-batches: the streamed run asks the trunk again
        // for every micro-batch of every pass, and must end with the same head, bit for bit
        List<Integer> keptRequests = new ArrayList<>();
        List<Integer> streamedRequests = new ArrayList<>();
        io.github.mmupt.head.HeadWeights kept;
        io.github.mmupt.head.HeadWeights streamed;
        try (GrpoOptimizer opt = optimizer()) {
            MmUpt.builder().policy(counting(keptRequests)).optimizer(opt).sampler(FakeModels.sampler())
                    .sampling(FakeModels.sampling()).data(data(8)).promptsPerStep(4).promptsPerMiniBatch(2)
                    .iterations(2).microBatchSequences(3).steps(2).build().run();
            kept = opt.weights();
        }
        try (GrpoOptimizer opt = optimizer()) {
            MmUpt.builder().policy(counting(streamedRequests)).optimizer(opt).sampler(FakeModels.sampler())
                    .sampling(FakeModels.sampling()).data(data(8)).promptsPerStep(4).promptsPerMiniBatch(2)
                    .iterations(2).microBatchSequences(3).steps(2).hiddenStateCacheBytes(0).build().run();
            streamed = opt.weights();
        }
        assertThat(streamed).isEqualTo(kept);
        // 4 prompts x 6 responses per step in mini-batches of 12 sequences: 4 micro-batches of 3 per pass
        assertThat(keptRequests).as("kept: each micro-batch computed once per step").hasSize(2 * 8).containsOnly(3);
        assertThat(streamedRequests).as("streamed: once to score, once per pass").hasSize(2 * 8 * 3).containsOnly(3);
        assertThatThrownBy(() -> MmUpt.builder().hiddenStateCacheBytes(-1).policy(FakeModels.policy("m"))
                .optimizer(optimizer()).sampler(FakeModels.sampler()).sampling(FakeModels.sampling()).data(data(8)).promptsPerStep(4).build())
                .hasMessageContaining("hiddenStateCacheBytes must be >= 0");
    }

    @Test
    void aStopRequestEndsTheRunBetweenStepsWithACheckpointThatResumes() throws Exception {
        Path checkpoints = dir.resolve("stop");
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        try (GrpoOptimizer opt = optimizer()) {
            // stop once three steps are done; checkpoints every 5 steps would otherwise leave none
            RunResult r = MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(FakeModels.sampler())
                    .sampling(FakeModels.sampling()).data(data(6)).promptsPerStep(4).steps(5).checkpoints(checkpoints, 5)
                    .stopWhen(() -> asked.incrementAndGet() > 3).build().run();
            assertThat(r.steps()).hasSize(3);
        }
        try (GrpoOptimizer opt = optimizer()) {
            RunResult r = MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(FakeModels.sampler())
                    .sampling(FakeModels.sampling()).data(data(6)).promptsPerStep(4).steps(5).checkpoints(checkpoints, 5)
                    .resume(true).build().run();
            // the continuation itself is exact (resumeContinuesTheDataOrderAndTheWeightsExactly); here: it starts at 3
            assertThat(r.steps()).extracting(StepStats::step).containsExactly(3L, 4L);
        }
    }

    /** The fake policy, recording how many sequences each request asked for. */
    private static Policy counting(List<Integer> requests) {
        Policy inner = FakeModels.policy("m");
        return new Policy() {
            @Override
            public io.github.mmupt.policy.PolicySpec spec() {
                return inner.spec();
            }

            @Override
            public io.github.mmupt.policy.Tokenizer tokenizer() {
                return inner.tokenizer();
            }

            @Override
            public io.github.mmupt.policy.HiddenStates responseHiddenStates(List<io.github.mmupt.policy.PromptResponse> s) {
                requests.add(s.size());
                return inner.responseHiddenStates(s);
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void metricsFileHasOneJsonObjectPerStep() throws Exception {
        Path metrics = dir.resolve("run/metrics.jsonl");
        try (GrpoOptimizer opt = optimizer()) {
            MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(FakeModels.sampler())
                    .sampling(FakeModels.sampling()).data(data(8)).promptsPerStep(4).steps(3)
                    .listener(new MetricsFile(metrics)).listener(new ProgressLog("test")).build().run();
        }
        List<String> lines = Files.readAllLines(metrics);
        assertThat(lines).hasSize(3);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (int i = 0; i < 3; i++) {
            var node = json.readTree(lines.get(i));
            assertThat(node.get("step").asLong()).isEqualTo(i);
            for (String key : List.of("reward_mean", "vote_share", "answer_rate", "distinct_answers", "label_accuracy",
                    "reward_accuracy", "kl_mean", "ppo_kl", "clip_high", "clip_low", "entropy", "response_length", "mean_log_prob",
                    "tokens_per_second", "rollout_seconds", "vote_seconds", "score_seconds", "update_seconds")) {
                assertThat(node.has(key)).as("key %s in %s", key, lines.get(i)).isTrue();
            }
            assertThat(node.get("response_length").asDouble()).isEqualTo(2.0);
        }
    }

    @Test
    void resumeContinuesTheDataOrderAndTheWeightsExactly() throws Exception {
        // the prompts and sampling seeds of a resumed run are those of the uninterrupted one; the weights are
        // compared bitwise on the native optimizer, whose state is float32 like the checkpoint (LoopOnTinyModelTest)
        Path checkpoints = dir.resolve("ck");
        List<String> seenUninterrupted = new ArrayList<>();
        List<String> seenResumed = new ArrayList<>();
        try (GrpoOptimizer opt = optimizer()) {
            MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(recording(seenUninterrupted))
                    .sampling(FakeModels.sampling()).data(data(6)).promptsPerStep(4).steps(4).build().run();
        }
        try (GrpoOptimizer opt = optimizer()) {
            MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(recording(seenResumed))
                    .sampling(FakeModels.sampling()).data(data(6)).promptsPerStep(4).steps(2).checkpoints(checkpoints, 2)
                    .build().run();
        }
        try (GrpoOptimizer opt = optimizer()) {
            RunResult r = MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(recording(seenResumed))
                    .sampling(FakeModels.sampling()).data(data(6)).promptsPerStep(4).steps(4).checkpoints(checkpoints, 2)
                    .resume(true).build().run();
            assertThat(r.steps()).extracting(StepStats::step).containsExactly(2L, 3L);
        }
        assertThat(seenResumed).isEqualTo(seenUninterrupted);
    }

    private static io.github.mmupt.rollout.RolloutSampler recording(List<String> seen) {
        var inner = FakeModels.sampler();
        return (prompts, params, seed) -> {
            prompts.forEach(p -> seen.add(p.id() + "@" + seed));
            return inner.sample(prompts, params, seed);
        };
    }

    private static Policy nanPolicy() {
        Policy fake = FakeModels.policy("nan");
        return new Policy() {
            @Override
            public PolicySpec spec() {
                return fake.spec();
            }

            @Override
            public Tokenizer tokenizer() {
                return fake.tokenizer();
            }

            @Override
            public HiddenStates responseHiddenStates(List<PromptResponse> sequences) {
                HiddenStates h = fake.responseHiddenStates(sequences);
                float[] v = new float[h.tokens() * h.hiddenSize()];
                h.values().duplicate().get(v);
                v[1] = Float.NaN;
                return HiddenStates.of(h.tokens(), h.hiddenSize(), v);
            }

            @Override
            public void close() {
            }
        };
    }
}
