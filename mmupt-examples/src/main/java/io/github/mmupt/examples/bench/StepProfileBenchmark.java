package io.github.mmupt.examples.bench;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.examples.demo.SquaresData;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.ForwardingGrpoOptimizer;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.StepPhase;
import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.policy.RunListener;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.storage.AtomicFiles;
import io.github.mmupt.train.Trainer;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Where the time of one MM-UPT step goes at real-model proportions, on generated Qwen2-VL-contract models with
 * random weights: the tiny one the tests use (d = 64) and one scaled to Qwen2-VL-2B's width and vocabulary
 * (d = 1536, 12 / 2 heads of 128, SwiGLU 8960, V = 151,936) with two decoder layers. The step is the real one
 * ({@link Trainer#step()}: KV-cache sampling, votes, scoring, the clipped surrogate with MM-UPT's KL, AdamW), with
 * the native head kernel; one step warms up, the next is measured.
 *
 * <p>Time is attributed from outside the library: ONNX Runtime's by a {@link RunListener} (split by whether the
 * sampler is running), the head kernel's by a timing wrapper around the optimizer (logits and draws while
 * sampling, scoring, loss and gradients), AdamW's by the same wrapper around {@code update}. A random model writes
 * no {@code \boxed{}}, so each response's answer is taken from its first token (three classes): votes then split
 * and every phase does its full work. Responses are forced to full length ({@code minNewTokens}).
 *
 * <p>One line per model, then last {@code tiny_tokens_per_s=... d1536_tokens_per_s=... d1536_head_kernel_share=...}.
 * Arguments: the Qwen {@code tokenizer.json}, and optionally the number of decoder layers of the scaled model.
 */
public final class StepProfileBenchmark {

    private static final int PROMPTS = 4;
    private static final int RESPONSES = 4;
    private static final int NEW_TOKENS = 32;

    private StepProfileBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path tokenizer = Path.of(args[0]);
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        QwenTinyConfig tiny = QwenTinyConfig.defaults();
        QwenTinyConfig scaled = new QwenTinyConfig("qwen2_vl", 1536, 8960, layers, 12, 2, 128, List.of(16, 24, 24),
                QwenTinyConfig.QWEN_VOCAB, 4096, 1, 32, 2, 2, 4L * 28 * 28, 112L * 112);
        Path work = Files.createTempDirectory("mmupt-step-profile");
        try {
            Path data = SquaresData.write(work.resolve("data"), PROMPTS);
            Profile a = profile("tiny", tiny, work, tokenizer, data);
            Profile b = profile("d1536", scaled, work, tokenizer, data);
            System.out.printf(Locale.ROOT, "tiny_tokens_per_s=%.1f d1536_tokens_per_s=%.1f d1536_head_kernel_share=%.3f%n",
                    a.tokensPerSecond(), b.tokensPerSecond(), b.headKernel() / b.total());
        } finally {
            AtomicFiles.deleteTree(work);
        }
    }

    /** Seconds of one measured step, by where they went. */
    record Profile(double total, double rolloutTrunk, double rolloutHead, double rolloutGlue, double scoringTrunk,
            double headKernel, double update, double other, long tokens) {

        double tokensPerSecond() {
            return tokens / total;
        }
    }

    private static Profile profile(String name, QwenTinyConfig c, Path work, Path tokenizer, Path data) throws Exception {
        Path model = work.resolve(name);
        long g0 = System.nanoTime();
        QwenTinyBuilder.write(model, c, 17, tokenizer);
        double generated = (System.nanoTime() - g0) / 1e9;
        Clock clock = new Clock();
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults().withRunListener(clock));
                TimedOptimizer head = new TimedOptimizer(HeadOptimizers.create(policy.initialHead(),
                        GrpoLossConfig.mmUpt(), AdamWConfig.mmUpt(), KernelOptions.defaults()), clock)) {
            KvCacheSampler kv = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            RolloutSampler sampler = (prompts, params, seed) -> {
                clock.sampling = true;
                try {
                    return firstTokenAnswers(kv.sample(prompts, params, seed));
                } finally {
                    clock.sampling = false;
                }
            };
            Trainer trainer = MmUpt.builder().policy(policy).optimizer(head).sampler(sampler)
                    .data(JsonlDataset.reader().read(data))
                    .sampling(SamplingParams.builder().responsesPerPrompt(RESPONSES)
                            .temperature(GrpoLossConfig.mmUpt().temperature())
                            .maxNewTokens(NEW_TOKENS).minNewTokens(NEW_TOKENS).build())
                    .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build())
                    .promptsPerStep(PROMPTS).steps(2).seed(3).build().trainer();
            trainer.step(); // warm-up: sessions, kernel threads, JIT
            clock.reset();
            head.reset();
            StepStats s = trainer.step();
            double total = s.totalTime().toNanos() / 1e9;
            double rollout = seconds(s, StepPhase.ROLLOUT);
            double rolloutTrunk = clock.sampleNanos / 1e9;
            double rolloutHead = head.samplingNanos / 1e9;
            double scoringTrunk = clock.otherNanos / 1e9;
            double kernel = head.kernelNanos / 1e9;
            double update = head.updateNanos / 1e9;
            double other = total - rollout - scoringTrunk - kernel - update;
            long tokens = Math.round(s.responses() * s.meanResponseLength());
            Profile p = new Profile(total, rolloutTrunk, rolloutHead, rollout - rolloutTrunk - rolloutHead,
                    scoringTrunk, kernel, update, other, tokens);
            System.out.printf(Locale.ROOT, "%s: d=%d V=%d layers=%d (generated in %.0f s): step %.2f s, %d tokens, "
                    + "%.1f tokens/s; rollout %.1f%% (trunk %.1f%%, head kernel %.1f%%, glue %.1f%%), scoring trunk "
                    + "%.1f%%, head kernel (score, loss, gradients) %.1f%%, update (AdamW) %.1f%%, other %.1f%%%n",
                    name, c.hiddenSize(), c.vocabSize(), c.layers(), generated, total, tokens, p.tokensPerSecond(),
                    100 * rollout / total, 100 * rolloutTrunk / total, 100 * rolloutHead / total,
                    100 * p.rolloutGlue() / total, 100 * scoringTrunk / total, 100 * kernel / total,
                    100 * update / total, 100 * other / total);
            return new Profile(total, rolloutTrunk, rolloutHead, p.rolloutGlue(), scoringTrunk, kernel + rolloutHead,
                    update, other, tokens);
        } finally {
            AtomicFiles.deleteTree(model);
        }
    }

    private static double seconds(StepStats s, StepPhase phase) {
        return s.phaseTimes().getOrDefault(phase, Duration.ZERO).toNanos() / 1e9;
    }

    /** Each response's answer from its first token, so that a random model's votes split three ways. */
    private static List<RolloutGroup> firstTokenAnswers(List<RolloutGroup> groups) {
        List<RolloutGroup> out = new ArrayList<>();
        for (RolloutGroup g : groups) {
            List<Rollout> rollouts = new ArrayList<>();
            for (Rollout r : g.rollouts()) {
                String answer = r.tokenIds().isEmpty() ? "none" : Integer.toString(r.tokenIds().get(0) % 3);
                rollouts.add(new Rollout(r.tokenIds(), r.logProbs(), r.text(), Optional.of(answer), r.finish()));
            }
            out.add(new RolloutGroup(g.prompt(), rollouts));
        }
        return out;
    }

    /** ONNX Runtime time, split by whether the sampler is running. */
    private static final class Clock implements RunListener {
        volatile boolean sampling;
        long sampleNanos;
        long otherNanos;

        @Override
        public void graphRan(String graph, long nanos) {
            if (sampling) {
                sampleNanos += nanos;
            } else {
                otherNanos += nanos;
            }
        }

        void reset() {
            sampleNanos = 0;
            otherNanos = 0;
        }
    }

    /** The optimizer, timed: head-kernel calls while sampling, the kernel's scoring and gradients, AdamW. */
    private static final class TimedOptimizer extends ForwardingGrpoOptimizer {
        private final Clock clock;
        long samplingNanos;
        long kernelNanos;
        long updateNanos;

        TimedOptimizer(GrpoOptimizer inner, Clock clock) {
            super(inner);
            this.clock = clock;
        }

        void reset() {
            samplingNanos = 0;
            kernelNanos = 0;
            updateNanos = 0;
        }

        /** Kernel time, to the sampler's account while it runs (it scores its own tokens), else the trainer's. */
        private void kernel(long t0) {
            long nanos = System.nanoTime() - t0;
            if (clock.sampling) {
                samplingNanos += nanos;
            } else {
                kernelNanos += nanos;
            }
        }

        @Override
        public TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version) {
            long t0 = System.nanoTime();
            TokenScores s = super.score(hidden, targets, version);
            kernel(t0);
            return s;
        }

        @Override
        public void logits(HiddenStates hidden, FloatBuffer out) {
            long t0 = System.nanoTime();
            super.logits(hidden, out);
            kernel(t0);
        }

        @Override
        public boolean draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform,
                int[] banned, boolean[] skip, int[] out) {
            long t0 = System.nanoTime();
            boolean drew = super.draw(logits, rows, temperature, topP, uniform, banned, skip, out);
            kernel(t0);
            return drew;
        }

        @Override
        public LossMetrics accumulate(LossBatch batch) {
            long t0 = System.nanoTime();
            LossMetrics m = super.accumulate(batch);
            kernel(t0);
            return m;
        }

        @Override
        public UpdateResult update() {
            long t0 = System.nanoTime();
            UpdateResult u = super.update();
            updateNanos += System.nanoTime() - t0;
            return u;
        }
    }
}
