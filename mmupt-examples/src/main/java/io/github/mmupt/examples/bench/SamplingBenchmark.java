package io.github.mmupt.examples.bench;

import io.github.mmupt.answer.AnswerExtractor;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.policy.RunListener;
import io.github.mmupt.onnx.tiny.TinyVlmBuilder;
import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tiny.TinyVlmWeights;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.SamplingParams;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Sampling throughput of {@link KvCacheSampler} on a generated tiny model: with the KV cache at several response
 * lengths, against full recomputation at each step, and the share of wall time spent outside ONNX Runtime and
 * the head kernel ("glue": tensor set-up, sampling, bookkeeping). Responses are forced to their full length
 * ({@code minNewTokens}) so that every run samples the same number of tokens. Each figure is the minimum over
 * repetitions.
 *
 * <p>Where the time goes is measured from outside the library: ONNX Runtime's share by a {@link RunListener}
 * (the policy's documented seam), the kernel's by a timing {@link HeadScorer} around the frozen head. The
 * recomputation baseline uses only the public {@link OnnxPolicy#responseHiddenStates} (the whole sequence again
 * for every new token, one sequence per decoder run, greedy choice); since that re-runs the vision encoder for
 * every call, the vision time it reports is subtracted from the baseline so it is not flattered.
 *
 * <p>Then, given the Qwen {@code tokenizer.json} (second argument), batched decoding across prompts on the
 * generated Qwen2-VL-contract model (see {@link #batched}).
 *
 * <p>Lines: {@code kv_speedup_at_256=<x> per_token_cost_growth_64_to_256=<y> glue_share=<z>}, then last
 * {@code batched_vs_single=<r> glue_share=<g>} (the glue share of the batched run).
 */
public final class SamplingBenchmark {

    private static final int[] LENGTHS = {64, 128, 256};

    private SamplingBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        Path tokenizerFile = args.length > 1 ? Path.of(args[1]) : null;
        int responses = 8;
        List<String> words = List.of("how", "many", "red", "blue", "shapes", "are", "there", "?", "+", "=", "\\boxed{", "}",
                "0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        VocabularyTokenizer tokenizer = VocabularyTokenizer.of(words);
        TinyVlmConfig config = new TinyVlmConfig(tokenizer.vocabSize(), 64, 2, 4, 256, 320, 32, 8);
        Path dir = Files.createTempDirectory("mmupt-sampling-bench");
        TinyVlmBuilder.write(dir, config, TinyVlmWeights.random(config, 1), tokenizer);
        List<Prompt> prompts = List.of(prompt("a"), prompt("b"));
        System.out.printf(Locale.ROOT, "sampling benchmark: tiny model d=%d, %d layers, V=%d; %d prompts x %d responses%n",
                config.hiddenSize(), config.layers(), config.vocabSize(), prompts.size(), responses);
        double[] cachedPerToken = new double[LENGTHS.length];
        double recomputeAt256 = 0;
        double cachedAt256 = 0;
        double glueAt256 = 0;
        RuntimeClock clock = new RuntimeClock();
        try (OnnxPolicy policy = OnnxPolicy.open(dir, PolicyOptions.defaults().withRunListener(clock));
                TimedHead head = new TimedHead(HeadOptimizers.scorer(policy.initialHead(), 1.0,
                        KernelOptions.defaults()))) {
            for (int i = 0; i < LENGTHS.length; i++) {
                int length = LENGTHS[i];
                SamplingParams params = SamplingParams.builder().responsesPerPrompt(responses).temperature(1.0)
                        .maxNewTokens(length).minNewTokens(length).build();
                Run cached = best(() -> new KvCacheSampler(policy, head, AnswerExtractor.boxed()).withPromptsPerBatch(1)
                        .sample(prompts, params, 17), clock, head, true, reps);
                // the baseline is slow, and the JIT is warm by now: one run, no warm-up
                Run recomputed = best(() -> recompute(policy, head, prompts, responses, length), clock, head, false, 1);
                long tokens = (long) prompts.size() * responses * length;
                cachedPerToken[i] = cached.seconds / tokens;
                System.out.printf(Locale.ROOT,
                        "length %3d: cached %8.0f tokens/s, recompute %8.0f tokens/s, speedup %.2f | cached time: %.0f%% "
                                + "ONNX Runtime, %.0f%% head kernel, %.0f%% glue%n",
                        length, tokens / cached.seconds, tokens / recomputed.withoutVision(),
                        recomputed.withoutVision() / cached.seconds,
                        100 * cached.runtimeShare(), 100 * cached.kernelShare(), 100 * cached.glueShare());
                if (length == 256) {
                    recomputeAt256 = recomputed.withoutVision();
                    cachedAt256 = cached.seconds;
                    glueAt256 = cached.glueShare();
                }
            }
        }
        System.out.printf(Locale.ROOT, "kv_speedup_at_256=%.2f per_token_cost_growth_64_to_256=%.3f glue_share=%.3f%n",
                recomputeAt256 / cachedAt256, cachedPerToken[2] / cachedPerToken[0], glueAt256);
        if (tokenizerFile != null) {
            batched(tokenizerFile, reps);
        } else {
            System.out.println("(batched decoding not measured: pass the Qwen tokenizer.json as the second argument)");
        }
    }

    /**
     * Batched decoding on the generated model in the Qwen2-VL contract (d = 64, the real 151,936-token
     * vocabulary): 8 prompts x 8 responses decoded together against one prompt's group at a time, the same
     * prompts, seeds and forced lengths, side by side in one run. Images of two sizes, so the batch is padded.
     */
    private static void batched(Path tokenizerFile, int reps) throws Exception {
        Path dir = Files.createTempDirectory("mmupt-batched-bench");
        QwenTinyBuilder.write(dir, QwenTinyConfig.defaults(), 1, tokenizerFile);
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            prompts.add(qwenPrompt("q" + i, i % 2 == 0 ? 56 : 84));
        }
        int length = 64;
        SamplingParams params = SamplingParams.builder().responsesPerPrompt(8).temperature(1.0).topP(1.0)
                .maxNewTokens(length).minNewTokens(length).build();
        RuntimeClock clock = new RuntimeClock();
        try (OnnxPolicy policy = OnnxPolicy.open(dir, PolicyOptions.defaults().withRunListener(clock));
                TimedHead head = new TimedHead(HeadOptimizers.scorer(policy.initialHead(), 1.0,
                        KernelOptions.defaults()))) {
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            Run together = best(() -> sampler.withPromptsPerBatch(8).sample(prompts, params, 23), clock, head, true, reps);
            Run alone = best(() -> sampler.withPromptsPerBatch(1).sample(prompts, params, 23), clock, head, true, reps);
            long tokens = (long) prompts.size() * params.responsesPerPrompt() * length;
            System.out.printf(Locale.ROOT, "Qwen2-VL-contract model d=%d, V=%d, %d prompts x %d responses x %d tokens:%n",
                    policy.spec().hiddenSize(), policy.spec().vocabSize(), prompts.size(), params.responsesPerPrompt(),
                    length);
            for (var e : List.of(java.util.Map.entry("8 prompts together", together),
                    java.util.Map.entry("one prompt at a time", alone))) {
                Run r = e.getValue();
                System.out.printf(Locale.ROOT, "  %-21s %8.0f tokens/s | %.0f%% ONNX Runtime, %.0f%% head kernel, "
                        + "%.0f%% glue%n", e.getKey(), tokens / r.seconds, 100 * r.runtimeShare(), 100 * r.kernelShare(),
                        100 * r.glueShare());
            }
            System.out.printf(Locale.ROOT, "batched_vs_single=%.2f glue_share=%.3f%n", alone.seconds / together.seconds,
                    together.glueShare());
        }
    }

    private static Prompt qwenPrompt(String id, int width) {
        int h = 56;
        byte[] rgb = new byte[width * h * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 37 + id.hashCode());
        }
        return new Prompt(id, List.of(RgbImage.of(width, h, rgb)), "<image>How many red squares are there?");
    }

    /** One measured run: wall time and the time inside ONNX Runtime (vision alone too) and the kernel. */
    private record Run(double seconds, double runtimeSeconds, double visionSeconds, double kernelSeconds) {
        double runtimeShare() {
            return runtimeSeconds / seconds;
        }

        double kernelShare() {
            return kernelSeconds / seconds;
        }

        double glueShare() {
            return Math.max(0, seconds - runtimeSeconds - kernelSeconds) / seconds;
        }

        double withoutVision() {
            return seconds - visionSeconds;
        }
    }

    private static Run best(Runnable work, RuntimeClock clock, TimedHead head, boolean warmUp, int reps) {
        Run best = null;
        for (int rep = warmUp ? -1 : 0; rep < reps; rep++) { // rep -1 warms the JIT and the allocator up
            long runtimeBefore = clock.total;
            long visionBefore = clock.vision;
            long kernelBefore = head.nanos;
            long start = System.nanoTime();
            work.run();
            long wall = System.nanoTime() - start;
            Run run = new Run(wall / 1e9, (clock.total - runtimeBefore) / 1e9, (clock.vision - visionBefore) / 1e9,
                    (head.nanos - kernelBefore) / 1e9);
            if (rep >= 0 && (best == null || run.seconds < best.seconds)) {
                best = run;
            }
        }
        return best;
    }

    /**
     * The baseline: every new token of every response from a full pass over its whole sequence so far (a dummy
     * last token stands for the one being chosen; the row before it predicts it), greedy.
     */
    private static void recompute(OnnxPolicy policy, HeadScorer head, List<Prompt> prompts, int responses, int length) {
        int v = policy.spec().vocabSize();
        FloatBuffer logits = FloatBuffer.allocate(v);
        for (Prompt prompt : prompts) {
            for (int b = 0; b < responses; b++) {
                ImmutableIntArray.Builder tokens = ImmutableIntArray.builder();
                for (int t = 0; t < length; t++) {
                    ImmutableIntArray withNext = ImmutableIntArray.builder().addAll(tokens.build()).add(0).build();
                    HiddenStates h = policy.responseHiddenStates(List.of(new PromptResponse(prompt, withNext)));
                    head.logits(h.rows(t, t + 1), logits.clear());
                    int best = 0;
                    for (int i = 1; i < v; i++) {
                        best = logits.get(i) > logits.get(best) ? i : best;
                    }
                    tokens.add(best);
                }
            }
        }
    }

    /** ONNX Runtime's time, all graphs and the vision graph alone, from the policy's run listener. */
    private static final class RuntimeClock implements RunListener {
        long total;
        long vision;

        @Override
        public void graphRan(String graph, long nanos) {
            total += nanos;
            vision += "vision".equals(graph) ? nanos : 0;
        }
    }

    /** The head kernel's time: a timing decorator around the frozen head the sampler uses. */
    private static final class TimedHead implements HeadScorer {
        private final HeadScorer head;
        long nanos;

        TimedHead(HeadScorer head) {
            this.head = head;
        }

        @Override
        public HeadShape shape() {
            return head.shape();
        }

        @Override
        public double temperature() {
            return head.temperature();
        }

        @Override
        public TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version) {
            long t0 = System.nanoTime();
            TokenScores s = head.score(hidden, targets, version);
            nanos += System.nanoTime() - t0;
            return s;
        }

        @Override
        public void logits(HiddenStates hidden, FloatBuffer out) {
            long t0 = System.nanoTime();
            head.logits(hidden, out);
            nanos += System.nanoTime() - t0;
        }

        @Override
        public boolean draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform,
                int[] banned, boolean[] skip, int[] out) {
            long t0 = System.nanoTime();
            boolean drew = head.draw(logits, rows, temperature, topP, uniform, banned, skip, out);
            nanos += System.nanoTime() - t0;
            return drew;
        }

        @Override
        public void close() {
            head.close();
        }
    }

    private static Prompt prompt(String id) {
        int w = 32;
        byte[] rgb = new byte[w * w * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 37 + id.hashCode());
        }
        return new Prompt(id, List.of(RgbImage.of(w, w, rgb)), "<image> how many red shapes are there ?");
    }
}
