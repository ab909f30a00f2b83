package io.github.mmupt.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.continual.ModelVersions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The continual demonstration with tiny budgets on the real tiny model: every run publishes versions that plain
 * ONNX Runtime users would load (the exported model), logs its guard decisions, and the panels are drawn.
 */
class ContinualDemoSmokeTest {

    @TempDir
    Path out;

    @Test
    void quickRunPublishesVersionsLogsDecisionsAndDrawsThePanels() throws Exception {
        ContinualDemo.run(out, 4, 1, EmbeddedDefault.Settings.quick(), ContinualDemo.Settings.quick());
        JsonNode json = new ObjectMapper().readTree(out.resolve("continual.json").toFile());
        assertThat(json.get("runs")).hasSize(3);
        for (String mode : new String[] {"unguarded", "guarded", "guarded_canary"}) {
            Path store = out.resolve("seed-4").resolve(mode).resolve("versions");
            Optional<Path> current = ModelVersions.readCurrent(store);
            assertThat(current).isPresent();
            assertThat(current.get().resolve("model/mmupt-model.json")).isRegularFile();
            assertThat(current.get().resolve("window.json")).isRegularFile();
            assertThat(Files.readAllLines(store.resolve("guardrails.jsonl"))).isNotEmpty()
                    .first().asString().contains("\"outcome\":\"baseline\"");
        }
        assertThat(ImageIO.read(out.resolve("continual.png").toFile()).getWidth()).isGreaterThan(500);
    }
}
