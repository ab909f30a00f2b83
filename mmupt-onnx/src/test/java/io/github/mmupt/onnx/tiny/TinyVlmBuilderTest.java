package io.github.mmupt.onnx.tiny;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyVlmBuilderTest {

    @Test
    void theSameSeedRegeneratesTheSameFiles(@TempDir Path dir) throws Exception {
        Path a = TinyModels.write(dir.resolve("a"), 7);
        Path b = TinyModels.write(dir.resolve("b"), 7);
        Path c = TinyModels.write(dir.resolve("c"), 8);
        for (String f : new String[] {"vision.onnx", "embed.onnx", "decoder.onnx", "tokenizer.json", "mmupt-model.json"}) {
            assertThat(Files.readAllBytes(a.resolve(f))).as(f).isEqualTo(Files.readAllBytes(b.resolve(f)));
        }
        assertThat(Files.readAllBytes(a.resolve("decoder.onnx"))).isNotEqualTo(Files.readAllBytes(c.resolve("decoder.onnx")));
        long bytes = 0;
        try (var files = Files.list(a)) {
            for (Path p : files.toList()) {
                bytes += Files.size(p);
            }
        }
        assertThat(bytes).as("a tiny model is small").isLessThan(2_000_000);
    }

    @Test
    void weightsMustFitTheConfig() {
        TinyVlmConfig config = TinyModels.config();
        TinyVlmWeights w = TinyVlmWeights.random(config, 1);
        assertThatThrownBy(() -> w.with("lm_head", new float[3])).hasMessageContaining("needs");
        assertThatThrownBy(() -> w.with("nope", new float[3])).hasMessageContaining("no tiny-model tensor named nope");
        assertThatThrownBy(() -> new TinyVlmConfig(40, 30, 1, 4, 8, 64, 32, 8)).hasMessageContaining("multiple of heads");
    }
}
