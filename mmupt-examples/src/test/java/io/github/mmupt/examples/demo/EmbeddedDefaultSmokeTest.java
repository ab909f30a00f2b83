package io.github.mmupt.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole embedded default with tiny budgets: every stage runs and every output is written. */
class EmbeddedDefaultSmokeTest {

    @TempDir
    Path out;

    @Test
    void quickRunWritesTableJsonCurvesAndTheImprovedModel() throws Exception {
        List<EmbeddedDefault.SeedResult> results = EmbeddedDefault.run(out, 4, 1, EmbeddedDefault.Settings.quick());
        assertThat(results).hasSize(1);
        assertThat(results.get(0).rows()).containsOnlyKeys("base", "sft", "grpo", "upt", "grpo_lora", "upt_lora");
        results.get(0).rows().values().forEach(r -> {
            assertThat(r.examples()).isEqualTo(16);
            assertThat(r.passAt1()).isBetween(0.0, 1.0);
        });
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertThat(json.get("summary").fieldNames()).toIterable().containsExactly("base", "sft", "grpo", "upt",
                "grpo_lora", "upt_lora");
        assertThat(ImageIO.read(out.resolve("curves.png").toFile()).getWidth()).isGreaterThan(100);
        Path seed = out.resolve("seed-4");
        assertThat(seed.resolve("data/unlabeled.jsonl")).isRegularFile();
        assertThat(Files.readAllLines(seed.resolve("upt/metrics.jsonl"))).hasSize(2);
        assertThat(seed.resolve("upt/checkpoints/step-00000002/head.safetensors")).isRegularFile();
        assertThat(seed.resolve("upt/model/mmupt-model.json")).isRegularFile();
        // the LoRA rows train adapters on every decoder projection and export them merged into the model
        assertThat(Files.readAllLines(seed.resolve("upt_lora/metrics.jsonl"))).hasSize(2);
        assertThat(seed.resolve("upt_lora/model/mmupt-model.json")).isRegularFile();
        assertThat(Files.readAllLines(seed.resolve("grpo_lora/metrics.jsonl"))).hasSize(2);
    }

    @Test
    void theFullTableAddsEveryUnsupervisedBaseline() throws Exception {
        List<EmbeddedDefault.SeedResult> results = EmbeddedDefault.run(out, 4, 1, EmbeddedDefault.Settings.quick(),
                EmbeddedDefault.BaselineSettings.chosen());
        List<String> rows = List.of("base", "sft", "grpo", "srlm", "lmsi", "genixer", "stic", "upt");
        assertThat(results.get(0).rows().keySet()).containsExactlyElementsOf(rows);
        assertThat(Files.readAllLines(out.resolve("seed-4/lmsi/metrics.jsonl"))).hasSize(2);
        assertThat(Files.readAllLines(out.resolve("seed-4/srlm/metrics.jsonl"))).hasSize(2);
        assertThat(out.resolve("seed-4/genixer/pairs.jsonl")).isRegularFile();
        assertThat(out.resolve("seed-4/stic/model/mmupt-model.json")).isRegularFile();
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertThat(json.get("summary").fieldNames()).toIterable().containsExactlyElementsOf(rows);
    }
}
