package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.adapter.AdapterParameters;
import io.github.mmupt.adapter.AdapterState;
import io.github.mmupt.adapter.TrunkAdapters;
import io.github.mmupt.data.Example;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.policy.AdapterGradientChecks;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.policy.PromptResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapters' gradient on the Qwen2-VL contract model, whose positions have three M-RoPE axes and whose
 * prompts carry image features: sequences of one length share a gradient run, and the result is the sum of
 * their gradients taken one at a time.
 */
class QwenLoraBatchTest {

    @TempDir
    Path dir;

    /** A wide, a tall and again a wide picture (as many image tokens, different M-RoPE positions), as a JSONL. */
    private static Path pictures(Path data) throws Exception {
        java.nio.file.Files.createDirectories(data.resolve("images"));
        int[][] sizes = {{112, 56}, {56, 112}, {112, 56}};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(sizes[i][0], sizes[i][1],
                    java.awt.image.BufferedImage.TYPE_INT_RGB);
            java.awt.Graphics2D g = image.createGraphics();
            g.setColor(java.awt.Color.RED);
            g.fillRect(4 + 9 * i, 8, 20, 20);
            g.dispose();
            javax.imageio.ImageIO.write(image, "png", data.resolve("images/" + i + ".png").toFile());
            lines.add("{\"id\": \"q" + i + "\", \"problem\": \"<image>How many red squares are there?\", "
                    + "\"images\": [\"images/" + i + ".png\"], \"answer\": \"1\"}");
        }
        Path file = data.resolve("unlabeled.jsonl");
        java.nio.file.Files.write(file, lines);
        return file;
    }

    @Test
    void imagePromptsOfOneLengthShareAGradientRunWithTheSameResult() throws Exception {
        Path model = dir.resolve("model");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 3, QwenTokenizerFiles.qwen2VlFile());
        List<Example> data = JsonlDataset.reader().read(pictures(dir.resolve("data"))).examples();
        LoraSettings lora = LoraSettings.builder().rank(2).alpha(4).seed(3).build();
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults().withLora(lora))) {
            TrunkAdapters adapters = policy.adapters().orElseThrow();
            AdapterParameters p = adapters.parameters();
            Random random = new Random(4);
            AdapterState at = AdapterGradientChecks.withRandomB(p, random);
            p.restore(at);
            // three pictures of as many image tokens, two of them with their M-RoPE rows and columns swapped, and
            // answers of one length: one batch of three sequences whose positions differ
            List<PromptResponse> seqs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                seqs.add(new PromptResponse(data.get(i).prompt(), policy.tokenizer().encode("\\boxed{" + (i + 1) + "}")));
            }
            assertThat(seqs.stream().map(s -> s.responseTokens().length()).distinct()).hasSize(1);
            AdapterGradientChecks.assertBatchedEqualsOneAtATime(adapters, at, seqs, policy.responseHiddenStates(seqs),
                    random);
        }
    }
}
