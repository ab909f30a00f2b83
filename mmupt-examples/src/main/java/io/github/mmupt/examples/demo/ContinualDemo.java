package io.github.mmupt.examples.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.continual.CanarySet;
import io.github.mmupt.continual.ContinualListener;
import io.github.mmupt.continual.ContinualResult;
import io.github.mmupt.continual.ContinualRunner;
import io.github.mmupt.continual.ExampleSource;
import io.github.mmupt.continual.GuardAction;
import io.github.mmupt.continual.GuardEvent;
import io.github.mmupt.continual.Guardrails;
import io.github.mmupt.continual.ModelVersions;
import io.github.mmupt.continual.ProbeSet;
import io.github.mmupt.continual.Signal;
import io.github.mmupt.continual.WindowReport;
import io.github.mmupt.data.Example;
import io.github.mmupt.eval.Evaluator;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.KlEstimator;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.storage.AtomicFiles;
import io.github.mmupt.train.MetricsFile;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The continual demonstration: MM-UPT run ten times longer than the miniature's useful horizon on a stream of
 * unlabeled prompts, with settings that make it collapse, three ways from the same stage-1 base and seeds:
 * unguarded (every window published), guarded by the label-free guards alone, and guarded with a canary set.
 *
 * <p>Held-out accuracy (pass@1 on the test split, the same measure as Table 1) is measured by a listener on
 * every window's weights before the guards' decision is carried out: it is monitoring for this report only, and
 * never reaches the runner. Per run it reports the held-out accuracy of the starting model, of the best and the
 * worst version published, and of the version current at the end; a rollback is false when the weights rolled
 * back from were in fact not worse on held-out data than the version rolled back to.
 *
 * <p>Last line: {@code unguarded_end_minus_best=... guarded_end_minus_start=... guarded_end_minus_best=...
 * false_rollbacks=...} (means over the seeds run; label-free guards), followed on the same line by the worst
 * published version of the guarded runs and the canary runs' figures.
 */
final class ContinualDemo {

    /** The collapse settings (MM-UPT's own, lr 0.001 with KL 0.01, do not collapse the miniature in 300 steps). */
    record Settings(double learningRate, double klBeta, int windows, int windowSteps, int probePrompts,
            int canaryExamples) {

        static Settings standard() {
            return new Settings(0.01, 0.0, 30, 10, 64, 128);
        }

        static Settings quick() {
            return new Settings(0.01, 0.0, 2, 2, 8, 8);
        }
    }

    /** One continual run's outcome, in held-out accuracy. */
    record RunOutcome(String mode, long seed, double start, double end, double bestPublished, double worstPublished,
            int published, int rollbacks, int falseRollbacks, String endReason, List<Map<String, Object>> windows) {
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> MODES = List.of("unguarded", "guarded", "guarded_canary");

    private ContinualDemo() {
    }

    static void run(Path out, long firstSeed, int seeds, EmbeddedDefault.Settings s, Settings c) throws IOException {
        long started = System.nanoTime();
        List<RunOutcome> outcomes = new ArrayList<>();
        for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
            Path dir = out.resolve("seed-" + seed);
            EmbeddedDefault.Prepared p = EmbeddedDefault.prepare(dir, seed, s);
            Path base = dir.resolve("base-model");
            AtomicFiles.deleteTree(base);
            EmbeddedDefault.train(p.model(), base, p.labeled(), TrainingMode.SFT, s.sftSteps(), s.sftLearningRate(), s, seed,
                    dir.resolve("stage1"));
            for (String mode : MODES) {
                RunOutcome o = runOne(dir.resolve(mode), base, p.test(), mode, seed, s, c);
                outcomes.add(o);
                AtomicFiles.write(out.resolve("continual.json"), w -> JSON.writeValue(w, Map.of("settings", c, "runs",
                        outcomes)));
                System.out.printf(Locale.ROOT, "seed %d %-15s start %.3f end %.3f best %.3f worst published %.3f "
                        + "published %d rollbacks %d (false %d) ended %s%n", seed, mode, o.start(), o.end(),
                        o.bestPublished(), o.worstPublished(), o.published(), o.rollbacks(), o.falseRollbacks(),
                        o.endReason());
            }
        }
        ContinualCurves.write(out.resolve("continual.png"), outcomes);
        System.out.printf(Locale.ROOT, "finished in %.1f s; results in %s%n", (System.nanoTime() - started) / 1e9,
                out.toAbsolutePath());
        System.out.printf(Locale.ROOT, "unguarded_end_minus_best=%.3f guarded_end_minus_start=%.3f "
                + "guarded_end_minus_best=%.3f false_rollbacks=%d guarded_worst_published_minus_start=%.3f "
                + "canary_end_minus_start=%.3f canary_end_minus_best=%.3f canary_false_rollbacks=%d "
                + "canary_worst_published_minus_start=%.3f%n",
                mean(outcomes, "unguarded", o -> o.end() - o.bestPublished()),
                mean(outcomes, "guarded", o -> o.end() - o.start()),
                mean(outcomes, "guarded", o -> o.end() - o.bestPublished()),
                sum(outcomes, "guarded"),
                min(outcomes, "guarded", o -> o.worstPublished() - o.start()),
                mean(outcomes, "guarded_canary", o -> o.end() - o.start()),
                mean(outcomes, "guarded_canary", o -> o.end() - o.bestPublished()),
                sum(outcomes, "guarded_canary"),
                min(outcomes, "guarded_canary", o -> o.worstPublished() - o.start()));
    }

    /** One run from the base model; held-out accuracy measured on every window's weights (monitoring only). */
    static RunOutcome runOne(Path runDir, Path base, List<Example> test, String mode, long seed,
            EmbeddedDefault.Settings s, Settings c) throws IOException {
        AtomicFiles.deleteTree(runDir);
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(s.trainTemperature())
                .kl(c.klBeta() > 0 ? new KlPenalty(c.klBeta(), KlEstimator.K3, true) : KlPenalty.none()).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(c.learningRate()).weightDecay(0).build();
        // the stream, probe and canary come from their own seeds: none of them is the test split
        List<Example> stream = ShapesTask.generate("stream", c.windows() * c.windowSteps() * s.promptsPerStep(),
                seed * 1000 + 5).stream().map(Example::withoutLabels).toList();
        List<Example> probe = ShapesTask.generate("probe", c.probePrompts(), seed * 1000 + 6);
        List<Example> canary = ShapesTask.generate("canary", c.canaryExamples(), seed * 1000 + 7);
        SamplingParams sampling = SamplingParams.builder().responsesPerPrompt(s.responses()).temperature(s.trainTemperature())
                .topP(1.0).maxNewTokens(s.maxNewTokens()).build();
        try (OnnxPolicy policy = OnnxPolicy.open(base, PolicyOptions.defaults());
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, adamW, KernelOptions.defaults())) {
            RolloutSampler evalSampler = KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed());
            Evaluator evaluator = new Evaluator(evalSampler, AnswerEquivalence.standard());
            double start = heldOut(evaluator, test, s, seed);
            Monitor monitor = new Monitor(mode + " seed " + seed, () -> heldOut(evaluator, test, s, seed), start);
            // the unguarded run measures and logs the same signals, but its guards only warn
            ModelVersions versions = ModelVersions.open(runDir.resolve("versions"), 1000);
            Guardrails guards = mode.equals("unguarded") ? Guardrails.defaults().warnOnly() : Guardrails.defaults();
            ContinualRunner runner = ContinualRunner.builder()
                    .training(MmUpt.builder().policy(policy).optimizer(head)
                            .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed())).sampling(sampling)
                            .labeler(MajorityVoteLabeler.builder().minAgreement(s.minAgreement()).build())
                            .promptsPerStep(s.promptsPerStep()).seed(seed)
                            .listener(new MetricsFile(runDir.resolve("metrics.jsonl"))))
                    .source(ExampleSource.of(stream.iterator()))
                    .probe(ProbeSet.of(probe.stream().map(Example::prompt).toList(), seed * 1000 + 8))
                    .canary(mode.equals("guarded_canary") ? CanarySet.of(canary, seed * 1000 + 9) : null)
                    .guardrails(guards)
                    .windowSteps(c.windowSteps())
                    .publishTo(versions, (weights, dir) -> policy.exportModel(dir.resolve("model"), weights))
                    .listener(monitor)
                    .build();
            ContinualResult result = runner.run();
            return monitor.outcome(mode, seed, result, versions);
        }
    }

    /**
     * The demo's held-out monitor: the accuracy of every window's weights, which of them were published, and
     * whether each rollback was from weights that were in fact worse.
     */
    private static final class Monitor implements ContinualListener {
        private final java.util.function.DoubleSupplier heldOut;
        /** Held-out accuracy of each window's weights (window 0: the starting model). */
        private final Map<Long, Double> windowAccuracy = new LinkedHashMap<>();
        /** Per rollback or stop: the window rolled back from and the version rolled back to. */
        private final List<long[]> rollbacks = new ArrayList<>();
        private final List<Map<String, Object>> windows = new ArrayList<>();
        private final String name;

        Monitor(String name, java.util.function.DoubleSupplier heldOut, double start) {
            this.name = name;
            this.heldOut = heldOut;
            this.windowAccuracy.put(0L, start);
        }

        @Override
        public void onWindow(WindowReport r) {
            double acc = heldOut.getAsDouble();
            windowAccuracy.put(r.signals().window(), acc);
            GuardAction action = r.decision().action().orElse(null);
            if (action == GuardAction.ROLLBACK || action == GuardAction.STOP) {
                rollbacks.add(new long[] {r.signals().window(), r.best().orElseThrow()});
            }
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("window", r.signals().window());
            w.put("step", r.signals().endStep());
            w.put("held_out", acc);
            w.put("vote_share", r.signals().voteShare());
            w.put("entropy", r.signals().entropy());
            w.put("probe_share", r.signals().probe().meanShare());
            w.put("learning_rate", r.learningRate());
            for (GuardEvent e : r.decision().events()) {
                if (e.guard().signal() == Signal.PROBE_FLIPS || e.guard().signal() == Signal.PROBE_DRIFT
                        || e.guard().signal() == Signal.PROBE_CONCENTRATION) {
                    w.put(e.guard().signal().name().toLowerCase(Locale.ROOT), e.value());
                }
            }
            w.put("action", action == null ? "ACCEPT" : action.name());
            w.put("fired", r.decision().fired().stream().map(e -> e.guard().signal().name()).collect(Collectors.joining(",")));
            windows.add(w);
            System.out.printf(Locale.ROOT, "  %s window %d step %d held_out %.3f lr %.5f %s %s%n", name,
                    r.signals().window(), r.signals().endStep(), acc, r.learningRate(), w.get("action"), w.get("fired"));
        }

        /** The held-out accuracy of a version: that of the window it was made from (its window.json says which). */
        private double versionAccuracy(ModelVersions versions, long version) throws IOException {
            long window = JSON.readTree(versions.directory(version).resolve("window.json").toFile()).get("window").asLong();
            return windowAccuracy.get(window);
        }

        RunOutcome outcome(String mode, long seed, ContinualResult result, ModelVersions versions) throws IOException {
            List<Double> published = new ArrayList<>();
            for (long v : result.published()) {
                published.add(versionAccuracy(versions, v));
            }
            int falseRollbacks = 0;
            for (long[] rb : rollbacks) {
                if (windowAccuracy.get(rb[0]) >= versionAccuracy(versions, rb[1])) {
                    falseRollbacks++;
                }
            }
            double end = versionAccuracy(versions, result.current().orElseThrow());
            double best = published.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            double worst = published.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
            return new RunOutcome(mode, seed, windowAccuracy.get(0L), end, best, worst, published.size() - 1,
                    rollbacks.size(), falseRollbacks, result.reason().name(), windows);
        }
    }

    private static double heldOut(Evaluator evaluator, List<Example> test, EmbeddedDefault.Settings s, long seed) {
        return evaluator.evaluate(test, s.passTemperature(), 1, s.voteTemperature(), s.maxNewTokens(), seed * 7919)
                .passAt1();
    }

    private static double mean(List<RunOutcome> all, String mode, java.util.function.ToDoubleFunction<RunOutcome> f) {
        return all.stream().filter(o -> o.mode().equals(mode)).mapToDouble(f).average().orElse(Double.NaN);
    }

    private static double min(List<RunOutcome> all, String mode, java.util.function.ToDoubleFunction<RunOutcome> f) {
        return all.stream().filter(o -> o.mode().equals(mode)).mapToDouble(f).min().orElse(Double.NaN);
    }

    private static int sum(List<RunOutcome> all, String mode) {
        return all.stream().filter(o -> o.mode().equals(mode)).mapToInt(RunOutcome::falseRollbacks).sum();
    }
}
