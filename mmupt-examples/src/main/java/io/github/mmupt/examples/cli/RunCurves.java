package io.github.mmupt.examples.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.examples.demo.PanelChart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The curves PNG of a run, drawn from its metrics JSONL: one panel per label-free signal. */
final class RunCurves {

    private static final Map<String, String> PANELS = new java.util.LinkedHashMap<>();

    static {
        PANELS.put("reward_mean", "mean reward");
        PANELS.put("vote_share", "vote share of the majority");
        PANELS.put("answer_rate", "answer rate");
        PANELS.put("entropy", "entropy (nats)");
        PANELS.put("response_length", "response length (tokens)");
        PANELS.put("kl_mean", "KL to the reference");
    }

    private RunCurves() {
    }

    /**
     * Draws {@code metrics} into {@code png}; nothing when the file has no step yet.
     *
     * @param metrics the run's metrics JSONL
     * @param png the image to write
     * @param method the run's label
     * @throws IOException when reading or writing fails
     */
    static void write(Path metrics, Path png, String method) throws IOException {
        if (!Files.isRegularFile(metrics)) {
            return;
        }
        ObjectMapper json = new ObjectMapper();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            if (!line.isBlank()) {
                rows.add(json.readValue(line, new TypeReference<Map<String, Object>>() { }));
            }
        }
        if (rows.isEmpty()) {
            return;
        }
        List<PanelChart.Panel> panels = new ArrayList<>();
        for (Map.Entry<String, String> p : PANELS.entrySet()) {
            panels.add(new PanelChart.Panel(p.getValue(), List.of(PanelChart.curve(method, 0, rows, p.getKey(), r -> false)),
                    false));
        }
        PanelChart.write(png, "step", panels);
    }
}
