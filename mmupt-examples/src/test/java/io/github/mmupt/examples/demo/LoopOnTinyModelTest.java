package io.github.mmupt.examples.demo;

import static io.github.mmupt.examples.demo.TinyShapesModel.ADAM;
import static io.github.mmupt.examples.demo.TinyShapesModel.LOSS;
import static io.github.mmupt.examples.demo.TinyShapesModel.SAMPLING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.Trainer;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training loop on the embedded default's tiny model (designed trunk, native kernel): it learns, it is
 * exact where exactness is promised (first-iteration ratio, micro-batching, resume), and the gold answer cannot
 * reach the UPT reward.
 */
class LoopOnTinyModelTest {

    @TempDir
    static Path dir;
    static OnnxPolicy policy;
    static HeadWeights base;
    static Dataset unlabeledWithGold;

    @BeforeAll
    static void sftBase() throws Exception {
        policy = TinyShapesModel.open(dir.resolve("model"));
        base = TinyShapesModel.sftBase(policy, LOSS, 40);
        unlabeledWithGold = Dataset.of("unlabeled", ShapesTask.generate("unlabeled", 24, 12));
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    private static GrpoOptimizer optimizer(HeadWeights start, AdamWConfig adam) {
        return new NativeGrpoOptimizer(start, LOSS, adam, KernelOptions.defaults());
    }

    /** Runs from the SFT base and returns the result; {@code configure} adjusts the builder. */
    private static RunResult run(Dataset data, UnaryOperator<MmUpt.Builder> configure) throws Exception {
        try (GrpoOptimizer head = optimizer(base, ADAM)) {
            MmUpt.Builder b = MmUpt.builder().policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed())).data(data).sampling(SAMPLING)
                    .labeler(MajorityVoteLabeler.standard()).promptsPerStep(8).steps(3).seed(9);
            return configure.apply(b).build().run();
        }
    }

    @Test
    void aFewStepsChangeTheHeadWithFiniteLosses() throws Exception {
        RunResult r = run(unlabeledWithGold, b -> b);
        assertThat(r.finalHead()).isNotEqualTo(base);
        assertThat(r.steps()).hasSize(3);
        for (StepStats s : r.steps()) {
            assertThat(s.loss().isFinite()).as("step %d loss %s", s.step(), s.loss()).isTrue();
            assertThat(s.loss().tokens()).isPositive();
            assertThat(s.skippedUpdates()).isZero();
            assertThat(s.rewardMean()).isBetween(0.0, 1.0);
            assertThat(s.votes().answerRate()).as("the SFT base answers in the boxed format").isGreaterThan(0.5);
            assertThat(s.votes().labelAccuracy()).as("gold exists, so label accuracy is monitored").isPresent();
        }
    }

    @Test
    void ratioIsExactlyOneAtTheFirstIterationOfAStep() throws Exception {
        // one mini-batch, one pass: every token is scored by the head that sampled it, so log pi - log pi_old = 0
        RunResult one = run(unlabeledWithGold, b -> b.steps(1).iterations(1));
        StepStats s = one.steps().get(0);
        assertThat(s.loss().tokens()).isPositive();
        assertThat(s.loss().driftSum()).isEqualTo(0.0);
        assertThat(s.loss().clippedHigh() + s.loss().clippedLow() + s.loss().clippedDual()).isZero();
        // a second pass sees the head after an update: the drift is no longer zero (so the check above can fail)
        RunResult two = run(unlabeledWithGold, b -> b.steps(1).iterations(2));
        assertThat(two.steps().get(0).loss().driftSum()).isNotEqualTo(0.0);
    }

    @Test
    void microBatchOfOneTimesKEqualsKTimesOne() throws Exception {
        HeadWeights whole = run(unlabeledWithGold, b -> b.microBatchSequences(64)).finalHead();
        HeadWeights split = run(unlabeledWithGold, b -> b.microBatchSequences(1)).finalHead();
        float[] a = whole.weight();
        float[] c = split.weight();
        double maxDiff = 0;
        double maxAbs = 0;
        for (int i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - c[i]));
            maxAbs = Math.max(maxAbs, Math.abs(a[i]));
        }
        // float32 gradient sums in another order: equal up to rounding, far below one update (lr 3e-3)
        assertThat(maxDiff).isLessThan(1e-5 * Math.max(1, maxAbs));
        assertThat(whole).isNotEqualTo(base);
    }

    @Test
    void resumingFromACheckpointGivesExactlyTheUninterruptedWeights() throws Exception {
        HeadWeights uninterrupted = run(unlabeledWithGold, b -> b.steps(4)).finalHead();
        Path checkpoints = dir.resolve("resume-checkpoints");
        run(unlabeledWithGold, b -> b.steps(2).checkpoints(checkpoints, 2));
        assertThat(checkpoints.resolve("step-00000002")).isDirectory();
        RunResult resumed = run(unlabeledWithGold, b -> b.steps(4).checkpoints(checkpoints, 2).resume(true));
        assertThat(resumed.steps()).as("only the remaining steps run").hasSize(2);
        assertThat(resumed.steps().get(0).step()).isEqualTo(2);
        assertThat(resumed.finalHead()).isEqualTo(uninterrupted);
    }

    @Test
    void goldAnswersCannotReachTheUptReward() throws Exception {
        HeadWeights withGold = run(unlabeledWithGold, b -> b).finalHead();
        HeadWeights withoutGold = run(unlabeledWithGold.withoutLabels(), b -> b).finalHead();
        List<Example> wrongGold = unlabeledWithGold.examples().stream()
                .map(e -> new Example(e.prompt(), Optional.of("42"), e.goldResponse())).toList();
        RunResult withWrongGold = run(Dataset.of("wrong", wrongGold), b -> b);
        assertThat(withoutGold).isEqualTo(withGold);
        assertThat(withWrongGold.finalHead()).isEqualTo(withGold);
        // the gold answers are seen, for monitoring only: every label is judged wrong against "42"
        assertThat(withWrongGold.steps().get(0).votes().labelAccuracy()).hasValue(0.0);
        // while supervised GRPO does use them: the same data gives another head
        HeadWeights supervised = run(unlabeledWithGold, b -> b.mode(TrainingMode.SUPERVISED_GRPO)).finalHead();
        assertThat(supervised).isNotEqualTo(withGold);
    }

    @Test
    void stepWiseApiMatchesRun() throws Exception {
        HeadWeights viaRun = run(unlabeledWithGold, b -> b).finalHead();
        try (GrpoOptimizer head = optimizer(base, ADAM)) {
            Trainer trainer = MmUpt.builder().policy(policy).optimizer(head)
                    .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed())).data(unlabeledWithGold)
                    .sampling(SAMPLING).labeler(MajorityVoteLabeler.standard()).promptsPerStep(8).steps(3).seed(9)
                    .build().trainer();
            int steps = 0;
            while (trainer.hasNext()) {
                trainer.step();
                steps++;
            }
            assertThat(steps).isEqualTo(3);
            assertThatThrownBy(trainer::step).isInstanceOf(IllegalStateException.class).hasMessageContaining("complete");
            assertThat(head.weights()).isEqualTo(viaRun);
        }
    }

    @Test
    void checkpointOfAnotherModelIsRefused() throws Exception {
        Path checkpoints = dir.resolve("other-model-checkpoints");
        run(unlabeledWithGold, b -> b.steps(1).checkpoints(checkpoints, 1));
        VocabularyTokenizer tokenizer = VocabularyTokenizer.of(ShapesTask.vocabulary());
        TinyVlmConfig config = DesignedTrunk.config(tokenizer.vocabSize());
        Path other = dir.resolve("other-model");
        TinyVlmBuilder.write(other, config, DesignedTrunk.weights(config, tokenizer, 6), tokenizer);
        try (OnnxPolicy otherPolicy = OnnxPolicy.open(other, PolicyOptions.defaults());
                GrpoOptimizer head = optimizer(otherPolicy.initialHead(), ADAM)) {
            MmUpt upt = MmUpt.builder().policy(otherPolicy).optimizer(head)
                    .sampler(new KvCacheSampler(otherPolicy, head, AnswerExtractor.boxed())).data(unlabeledWithGold)
                    .sampling(SAMPLING).promptsPerStep(8).steps(2).checkpoints(checkpoints, 1).resume(true).build();
            assertThatThrownBy(upt::trainer).hasMessageContaining("was made for model").hasMessageContaining("refusing");
        }
        assertThat(Files.list(checkpoints).filter(p -> p.getFileName().toString().startsWith(".tmp"))).isEmpty();
    }
}
