package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.onnx.tiny.TinyModels;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several prompts' groups decoded in one batch, shorter prompts left-padded and masked, give the rollouts that
 * decoding each group alone gives: the same tokens and log-probs within 1e-5, on the tiny model (1-D positions)
 * and on the Qwen2-VL-contract model (M-RoPE with per-prompt rope deltas, images of different sizes).
 */
class BatchedDecodingTest {

    private static final GrpoLossConfig LOSS = GrpoLossConfig.builder().temperature(1.0).build();
    private static final SamplingParams PARAMS = SamplingParams.builder().responsesPerPrompt(4).temperature(1.0)
            .topP(1.0).maxNewTokens(12).build();

    @TempDir
    Path dir;

    @Test
    void tinyModelPromptsOfDifferentLengths() throws Exception {
        List<Prompt> prompts = new ArrayList<>();
        String[] questions = {"<image> how many red shapes are there ?", "<image> red ?",
                "<image> how many red shapes and blue shapes are there in the picture ?"};
        for (int i = 0; i < 6; i++) {
            Prompt base = TinyModels.prompt("p" + i);
            prompts.add(new Prompt("p" + i, base.images(), questions[i % 3]));
        }
        compare(TinyModels.write(dir.resolve("tiny"), 11), prompts, true);
    }

    @Test
    void qwenContractModelWithImagesOfDifferentSizes() throws Exception {
        Path model = dir.resolve("qwen");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 3, QwenTokenizerFiles.qwen2VlFile());
        List<Prompt> prompts = new ArrayList<>();
        int[][] sizes = {{56, 56}, {112, 56}, {56, 84}, {28, 28}};
        for (int i = 0; i < sizes.length; i++) {
            prompts.add(new Prompt("q" + i, List.of(image(sizes[i][0], sizes[i][1], i)),
                    "<image>" + "How many red squares are there?".substring(0, 12 + 6 * i)));
        }
        compare(model, prompts, false);
    }

    private static void compare(Path model, List<Prompt> prompts, boolean expectEarlyStops) throws Exception {
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults());
                GrpoOptimizer head = new NativeGrpoOptimizer(policy.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            List<Integer> lengths = prompts.stream().map(p -> policy.encode(p).ids().length()).distinct().toList();
            assertThat(lengths).as("the prompts differ in length, so the batch is padded").hasSizeGreaterThan(1);
            KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
            List<RolloutGroup> alone = sampler.withPromptsPerBatch(1).sample(prompts, PARAMS, 9);
            List<RolloutGroup> together = sampler.sample(prompts, PARAMS, 9);
            double worst = 0;
            for (int g = 0; g < prompts.size(); g++) {
                for (int r = 0; r < PARAMS.responsesPerPrompt(); r++) {
                    var a = alone.get(g).rollouts().get(r);
                    var b = together.get(g).rollouts().get(r);
                    assertThat(b.tokenIds()).as("group %d response %d", g, r).isEqualTo(a.tokenIds());
                    for (int t = 0; t < a.logProbs().length(); t++) {
                        worst = Math.max(worst, Math.abs(a.logProbs().get(t) - b.logProbs().get(t)));
                    }
                }
            }
            assertThat(worst).isLessThanOrEqualTo(1e-5);
            long early = together.stream().flatMap(gr -> gr.rollouts().stream())
                    .filter(r -> r.length() < PARAMS.maxNewTokens()).count();
            if (expectEarlyStops) {
                // rows that stop early are dropped from the batch once half have: that path is exercised too
                assertThat(early).as("responses that stopped early").isBetween(1L,
                        (long) prompts.size() * PARAMS.responsesPerPrompt() - 1);
            }
            System.out.println(model.getFileName() + ": batched vs one at a time, max |log-prob difference| " + worst);
        }
    }

    private static RgbImage image(int w, int h, int seed) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) ((i * 31 + seed * 17) % 251);
        }
        return RgbImage.of(w, h, rgb);
    }
}
