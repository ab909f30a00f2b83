package io.github.mmupt.continual;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.mmupt.MmUpt;
import io.github.mmupt.checkpoint.CheckpointStore;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.OptimizerState;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.train.FakeModels;
import io.github.mmupt.train.StepListener;
import com.google.common.collect.ImmutableList;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The continual runner on the fake policy and sampler of the loop's tests, with a sampler that can collapse. */
class ContinualRunnerTest {

    @TempDir
    Path dir;

    private final AtomicBoolean collapsed = new AtomicBoolean();

    private static GrpoOptimizer optimizer() {
        return FakeModels.optimizer();
    }

    /** Runs the runner on a new thread; its result or failure lands in {@code outcome}. */
    private static Thread startOnThread(ContinualRunner runner, AtomicReference<Object> outcome) {
        Thread t = new Thread(() -> {
            try {
                outcome.set(runner.run());
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        t.start();
        return t;
    }

    /** The fake sampler, or, once collapsed, one that answers 7 to everything. */
    private RolloutSampler sampler() {
        RolloutSampler healthy = FakeModels.sampler();
        return (prompts, params, seed) -> {
            if (!collapsed.get()) {
                return healthy.sample(prompts, params, seed);
            }
            List<RolloutGroup> groups = new ArrayList<>();
            for (Prompt p : prompts) {
                ImmutableList.Builder<Rollout> b = ImmutableList.builder();
                for (int i = 0; i < params.responsesPerPrompt(); i++) {
                    b.add(new Rollout(ImmutableIntArray.of(8, 0), ImmutableDoubleArray.of(), "7", Optional.of("7"),
                            FinishReason.STOP));
                }
                groups.add(new RolloutGroup(p, b.build()));
            }
            return groups;
        };
    }

    private static List<Example> examples(int n, String prefix) {
        return IntStream.range(0, n).mapToObj(i -> Example.unlabeled(new Prompt(prefix + i, List.of(),
                "question " + "x".repeat(i % 23)))).toList();
    }

    private static ProbeSet probe() {
        return ProbeSet.of(examples(20, "probe").stream().map(Example::prompt).toList(), 99);
    }

    private ContinualRunner.Builder runner(GrpoOptimizer opt, ExampleSource source, Path store) throws IOException {
        return ContinualRunner.builder()
                .training(MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(sampler())
                        .sampling(FakeModels.sampling()).promptsPerStep(4).seed(3))
                .source(source).probe(probe()).windowSteps(2)
                .publishTo(ModelVersions.open(store, 100), ContinualRunnerTest::exportHead);
    }

    private static void exportHead(io.github.mmupt.head.HeadWeights weights, Path version) throws IOException {
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(version.resolve("head.bin")))) {
            for (float v : weights.weight()) {
                out.writeFloat(v);
            }
        }
    }

    @Test
    void aCollapseIsRolledBackToTheBestVersionBitForBit() throws IOException {
        Path store = dir.resolve("store");
        AtomicReference<OptimizerState> atWindow1 = new AtomicReference<>();
        try (GrpoOptimizer opt = optimizer()) {
            ContinualResult r = runner(opt, ExampleSource.of(examples(1000, "s").iterator()), store).maxWindows(3)
                    .listener(report -> {
                        if (report.signals().window() == 1) {
                            atWindow1.set(opt.state());
                        }
                        if (report.signals().window() == 2) {
                            collapsed.set(true); // from here on the model answers 7 to everything
                        }
                    }).build().run();
            // window 1 is staged as v2 and published when window 2 passes; window 2, staged as v3, is discarded
            // when window 3 (trained on from it) collapses, and the run rolls back to v2
            assertThat(r.published()).containsExactly(1L, 2L);
            assertThat(r.rollbacks()).isEqualTo(1);
            WindowReport third = r.windows().get(2);
            assertThat(third.decision().action()).contains(GuardAction.ROLLBACK);
            assertThat(third.decision().fired()).extracting(e -> e.guard().signal()).contains(Signal.PROBE_FLIPS);
            // weights, moments and step are the ones published as version 2, bit for bit
            assertThat(opt.state()).isEqualTo(atWindow1.get());
            assertThat(opt.adamW().learningRate()).isEqualTo(0.005);
            assertThat(r.current()).hasValue(2);
            assertThat(r.best()).hasValue(2);
            assertThat(store.resolve("versions/v000003")).doesNotExist();
            OptimizerState saved = CheckpointStore.load(onlyCheckpoint(store.resolve("versions/v000002/checkpoint")), "m",
                    opt.shape()).optimizer();
            assertThat(saved).isEqualTo(atWindow1.get());
        }
        List<String> log = Files.readAllLines(store.resolve(GuardLog.FILE));
        assertThat(log).hasSize(4);
        assertThat(log.get(0)).contains("\"outcome\":\"baseline\"");
        assertThat(log.get(1)).contains("\"outcome\":\"staged v2\"");
        assertThat(log.get(2)).contains("\"outcome\":\"published v2, staged v3\"");
        assertThat(log.get(3)).contains("\"action\":\"ROLLBACK\"", "\"outcome\":\"rolled back to v2\"",
                "\"signal\":\"PROBE_FLIPS\"");
    }

    @Test
    void withoutGuardsEveryWindowIsPublishedAndTheSourceEndsTheRun() throws IOException {
        try (GrpoOptimizer opt = optimizer()) {
            collapsed.set(true);
            ContinualResult r = runner(opt, ExampleSource.of(examples(4 * 2 * 3 + 3, "s").iterator()), dir.resolve("store"))
                    .guardrails(Guardrails.off()).build().run();
            assertThat(r.reason()).isEqualTo(ContinualResult.EndReason.SOURCE_EXHAUSTED);
            // 3 whole windows, then the 3 examples left are fewer than one step's 4 prompts; the last window's
            // version has no window after it to confirm it, so it is not published
            assertThat(r.windows()).hasSize(3);
            assertThat(r.published()).containsExactly(1L, 2L, 3L);
            assertThat(r.current()).hasValue(3);
            assertThat(r.steps()).isEqualTo(6);
        }
    }

    @Test
    void aGuardStopRollsBackAndEndsTheRun() throws IOException {
        try (GrpoOptimizer opt = optimizer()) {
            OptimizerState initial = opt.state();
            ContinualResult r = runner(opt, ExampleSource.of(examples(1000, "s").iterator()), dir.resolve("store"))
                    .maxRollbacks(0).listener(report -> collapsed.set(true)).build().run();
            // window 1 passes and is staged; window 2 collapses: with no rollback left the run stops on the start
            assertThat(r.reason()).isEqualTo(ContinualResult.EndReason.GUARD_STOP);
            assertThat(r.windows()).hasSize(2);
            assertThat(r.current()).hasValue(1);
            assertThat(r.published()).containsExactly(1L);
            assertThat(opt.state()).isEqualTo(initial);
        }
    }

    @Test
    void theRunnersThreadStopsCleanlyOnInterrupt() throws Exception {
        Path store = dir.resolve("store");
        LinkedBlockingQueue<Example> queue = new LinkedBlockingQueue<>();
        AtomicReference<Object> outcome = new AtomicReference<>();
        try (GrpoOptimizer opt = optimizer()) {
            ContinualRunner runner = runner(opt, ExampleSource.of(queue), store).pollTimeout(Duration.ofSeconds(30)).build();
            Thread t = startOnThread(runner, outcome);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (ModelVersions.readCurrent(store).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            queue.addAll(examples(5, "s")); // part of a window: the runner waits for the rest
            Thread.sleep(100);
            t.interrupt();
            t.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(t.isAlive()).isFalse();
            assertThat(outcome.get()).isInstanceOf(ContinualResult.class);
            assertThat(((ContinualResult) outcome.get()).reason()).isEqualTo(ContinualResult.EndReason.STOPPED);
            assertThat(ModelVersions.readCurrent(store)).contains(store.resolve("versions/v000001"));
        }
    }

    @Test
    void pauseHoldsTheRunAtAStepBoundaryAndResumeAndStopWork() throws Exception {
        AtomicInteger steps = new AtomicInteger();
        AtomicReference<ContinualRunner> ref = new AtomicReference<>();
        AtomicReference<Object> outcome = new AtomicReference<>();
        try (GrpoOptimizer opt = optimizer()) {
            ContinualRunner.Builder b = runner(opt, ExampleSource.of(examples(100_000, "s").iterator()), dir.resolve("store"));
            b.training(MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(sampler())
                    .sampling(FakeModels.sampling()).promptsPerStep(4).seed(3).listener(new StepListener() {
                        @Override
                        public void onStep(StepStats stats, long totalSteps) {
                            if (steps.incrementAndGet() == 3) {
                                ref.get().pause();
                            }
                        }
                    }));
            ContinualRunner runner = b.build();
            ref.set(runner);
            Thread t = startOnThread(runner, outcome);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (steps.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Thread.sleep(300);
            assertThat(steps.get()).isEqualTo(3);
            assertThat(runner.isPaused()).isTrue();
            runner.resume();
            while (steps.get() < 6 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            runner.stop();
            t.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(t.isAlive()).isFalse();
            assertThat(((ContinualResult) outcome.get()).reason()).isEqualTo(ContinualResult.EndReason.STOPPED);
            assertThat(steps.get()).isGreaterThanOrEqualTo(6);
        }
    }

    @Test
    void aNewRunnerContinuesFromTheCurrentVersion() throws IOException {
        Path store = dir.resolve("store");
        OptimizerState published;
        try (GrpoOptimizer opt = optimizer()) {
            ContinualResult first = runner(opt, ExampleSource.of(examples(1000, "a").iterator()), store)
                    .guardrails(Guardrails.off()).maxWindows(2).build().run();
            assertThat(first.current()).hasValue(2);
            published = opt.state();
        }
        try (GrpoOptimizer fresh = optimizer()) {
            ContinualResult second = runner(fresh, ExampleSource.of(examples(1000, "b").iterator()), store)
                    .guardrails(Guardrails.off()).maxWindows(2).build().run();
            // it starts at version 2's step (2 steps) and optimizer state, and publishes its first window as v3
            assertThat(second.windows().get(0).signals().endStep()).isEqualTo(4);
            assertThat(second.steps()).isEqualTo(6);
            assertThat(second.published()).containsExactly(3L);
            assertThat(fresh.step()).isEqualTo(published.step() + 2);
        }
    }

    @Test
    void missingSettingsAreNamed() {
        assertThatThrownBy(() -> ContinualRunner.builder().build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("training").hasMessageContaining("source").hasMessageContaining("probe")
                .hasMessageContaining("publishTo");
        assertThatThrownBy(() -> ContinualRunner.builder().training(MmUpt.builder()).source(ExampleSource.of(
                List.<Example>of().iterator())).probe(probe()).publishTo(ModelVersions.open(dir, 1), (w, d) -> { })
                .windowSteps(0).build()).hasMessageContaining("windowSteps");
    }

    @Test
    void aSupervisedModeIsRefused() throws IOException {
        try (GrpoOptimizer opt = optimizer()) {
            ContinualRunner.Builder b = runner(opt, ExampleSource.of(examples(100, "s").iterator()), dir.resolve("store"));
            b.training(MmUpt.builder().policy(FakeModels.policy("m")).optimizer(opt).sampler(sampler())
                    .sampling(FakeModels.sampling()).promptsPerStep(4)
                    .mode(io.github.mmupt.train.TrainingMode.SUPERVISED_GRPO));
            assertThatThrownBy(() -> b.build().run()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("unlabeled");
        }
    }

    private static Path onlyCheckpoint(Path store) throws IOException {
        try (var s = Files.list(store)) {
            return s.filter(p -> p.getFileName().toString().startsWith("step-")).findFirst().orElseThrow();
        }
    }
}
