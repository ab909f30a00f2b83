package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.RunResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The opt-in check on a real export: {@code mvn -B verify -pl mmupt-onnx -Dtest=RealExportTest
 * -Dmmupt.test.model=/path/to/Qwen2-VL-2B-Instruct-ONNX} (skipped without the property). It opens the directory as
 * a user's download, tokenizes and detokenizes a prompt, samples a response to a bundled picture (two red
 * squares, 56 x 56), runs two MM-UPT steps on it and exports the model. CI runs it against the generated
 * Qwen2-VL-contract model ({@link #theGeneratedModelPassesTheSameCheck}), so the path itself is always exercised.
 */
class RealExportTest {

    /** The system property naming a model directory. */
    static final String PROPERTY = "mmupt.test.model";

    @TempDir
    Path dir;

    @Test
    void aRealExportOpensSamplesTrainsAndExports() throws Exception {
        String model = System.getProperty(PROPERTY, "");
        assumeThat(model).as("set -D" + PROPERTY + "=DIR to run this test on a real export").isNotBlank();
        check(Path.of(model), 64);
    }

    @Test
    void theGeneratedModelPassesTheSameCheck() throws Exception {
        Path model = dir.resolve("generated");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 2, io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles.qwen2VlFile());
        check(model, 8);
    }

    private void check(Path model, int maxNewTokens) throws Exception {
        Prompt prompt = new Prompt("squares", List.of(twoSquares()), "<image>How many red squares are there? "
                + "Put the final answer in \\boxed{}.");
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            String text = "How many red squares are there?";
            ImmutableIntArray ids = policy.tokenizer().encode(text);
            assertThat(policy.tokenizer().decode(ids)).isEqualTo(text);
            SamplingParams sampling = SamplingParams.builder().responsesPerPrompt(2).temperature(1.0).topP(1.0)
                    .maxNewTokens(maxNewTokens).build();
            GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).build();
            try (GrpoOptimizer head = HeadOptimizers.create(policy.initialHead(), loss,
                    AdamWConfig.builder().learningRate(1e-4).build(), KernelOptions.defaults())) {
                KvCacheSampler sampler = new KvCacheSampler(policy, head, AnswerExtractor.boxed());
                List<RolloutGroup> groups = sampler.sample(List.of(prompt), sampling, 1);
                assertThat(groups.get(0).rollouts()).hasSize(2);
                assertThat(groups.get(0).rollouts().get(0).length()).isBetween(1, maxNewTokens);
                System.out.println(model.getFileName() + " answered: " + groups.get(0).rollouts().get(0).text());
                Dataset data = Dataset.of("squares", List.of(Example.unlabeled(prompt),
                        Example.unlabeled(new Prompt("squares-2", prompt.images(), prompt.question()))));
                RunResult run = MmUpt.builder().policy(policy).optimizer(head).sampler(sampler).data(data)
                        .promptsPerStep(2).steps(2).sampling(sampling).build().run();
                assertThat(run.steps()).hasSize(2);
                Path exported = dir.resolve("exported");
                policy.exportModel(exported, run.finalHead());
                try (OnnxPolicy reopened = OnnxPolicy.open(exported, PolicyOptions.defaults())) {
                    assertThat(reopened.initialHead()).isEqualTo(run.finalHead());
                }
            }
        }
        assertThat(Files.list(dir.resolve("exported")).count()).isPositive();
    }

    private static RgbImage twoSquares() {
        int w = 56;
        byte[] rgb = new byte[w * w * 3];
        for (int y = 0; y < w; y++) {
            for (int x = 0; x < w; x++) {
                boolean red = y >= 20 && y < 34 && ((x >= 6 && x < 20) || (x >= 32 && x < 46));
                int o = 3 * (y * w + x);
                rgb[o] = (byte) (red ? 220 : 250);
                rgb[o + 1] = (byte) (red ? 30 : 250);
                rgb[o + 2] = (byte) (red ? 30 : 250);
            }
        }
        return RgbImage.of(w, w, rgb);
    }
}
