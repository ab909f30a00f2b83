package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated Qwen2-VL model in the onnx-community contract, opened and run as a user's export would be. */
class QwenTinyModelTest {

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void generate() throws Exception {
        model = dir.resolve("qwen2-vl-tiny");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 7, QwenTokenizerFiles.qwen2VlFile());
    }

    static Prompt prompt(String id, int side) {
        byte[] rgb = new byte[side * side * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 31 + id.hashCode());
        }
        return new Prompt(id, List.of(RgbImage.of(side, side, rgb)), "How many shapes are there?");
    }

    @Test
    void theDirectoryOpensAsAQwenFamilyWithItsExternalData() throws Exception {
        assertThat(model.resolve("onnx/decoder_model_merged.onnx_data")).isRegularFile();
        assertThat(Files.size(model.resolve("onnx/decoder_model_merged.onnx")))
                .isLessThan(Files.size(model.resolve("onnx/decoder_model_merged.onnx_data")) / 100);
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            assertThat(policy.family().name()).isEqualTo("qwen2_vl");
            assertThat(policy.spec().vocabSize()).isEqualTo(151_936);
            assertThat(policy.spec().endOfSequence().asList()).containsExactly(151645, 151643);
            EncodedPrompt e = policy.family().encode(prompt("a", 64));
            // 64 x 64 -> 56 x 56: a 4 x 4 grid, 4 merged tokens
            ImmutableIntArray expected = ImmutableIntArray.builder()
                    .addAll(new int[] {151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198,
                        151652, 151655, 151655, 151655, 151655, 151653})
                    .addAll(policy.tokenizer().encode("How many shapes are there?"))
                    .addAll(new int[] {151645, 198, 151644, 77091, 198}).build();
            assertThat(e.ids()).isEqualTo(expected);
            assertThat(e.images().get(0).start()).isEqualTo(15);
            assertThat(e.positions().axes()).isEqualTo(3);
            // 4 image tokens take 2 x 2 positions: the text after the image resumes 2 later, not 4
            assertThat(e.positions().delta()).isEqualTo(-2);
        }
    }

    @Test
    void sampledLogProbsEqualAFullPassAtMropePositions() throws Exception {
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).build();
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults());
                GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            SamplingParams params = SamplingParams.builder().responsesPerPrompt(3).temperature(1.0).maxNewTokens(6)
                    .minNewTokens(6).build();
            List<RolloutGroup> groups = new KvCacheSampler(policy, head, AnswerExtractor.boxed())
                    .sample(List.of(prompt("b", 80)), params, 11);
            for (Rollout r : groups.get(0).rollouts()) {
                assertThat(r.length()).isEqualTo(6);
                HiddenStates full = policy.responseHiddenStates(List.of(new PromptResponse(groups.get(0).prompt(),
                        r.tokenIds())));
                TokenScores scored = head.score(full, r.tokenIds(), HeadVersion.CURRENT);
                for (int t = 0; t < r.length(); t++) {
                    assertThat(scored.logProbs().get(t)).as("token %d", t).isCloseTo(r.logProbs().get(t), within(1e-4));
                }
            }
        }
    }

    @Test
    void anExportOpensAgainWithTheTrainedHead() throws Exception {
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            float[] w = policy.initialHead().weight();
            w[5] += 1f;
            HeadWeights trained = HeadWeights.full(policy.initialHead().shape(), w);
            Path out = dir.resolve("exported");
            policy.exportModel(out, trained);
            assertThat(out.resolve("onnx/decoder_model_merged.onnx_data")).isRegularFile();
            try (OnnxPolicy reloaded = OnnxPolicy.open(out, PolicyOptions.defaults())) {
                assertThat(reloaded.initialHead()).isEqualTo(trained);
                assertThat(reloaded.spec().modelId()).isEqualTo(policy.spec().modelId());
            }
        }
    }
}
