package io.github.mmupt.continual;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The continual run's decision log: one JSON object a line in {@code guardrails.jsonl} under the version store's
 * root, with the window's signals, every guard's value and verdict, and what was done.
 */
final class GuardLog {

    /** The log's file name under the version store's root. */
    static final String FILE = "guardrails.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private GuardLog() {
    }

    static void append(Path root, WindowSignals signals, GuardDecision decision, double learningRate, String outcome,
            OptionalLong current, OptionalLong best) throws IOException {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("window", signals.window());
        line.put("end_step", signals.endStep());
        line.put("learning_rate", learningRate);
        line.put("signals", signalMap(signals));
        List<Map<String, Object>> guards = new ArrayList<>();
        if (decision != null) {
            for (GuardEvent e : decision.events()) {
                Map<String, Object> g = new LinkedHashMap<>();
                g.put("signal", e.guard().signal().name());
                g.put("value", finiteOrNull(e.value()));
                g.put("threshold", e.guard().threshold());
                g.put("action", e.guard().action().name());
                g.put("fired", e.fired());
                guards.add(g);
            }
        }
        line.put("guards", guards);
        line.put("action", decision == null ? null : decision.action().map(Enum::name).orElse("ACCEPT"));
        line.put("outcome", outcome);
        line.put("current", current.isPresent() ? current.getAsLong() : null);
        line.put("best", best.isPresent() ? best.getAsLong() : null);
        Files.createDirectories(root);
        // one write per line, flushed: a crash leaves at most a torn last line, which readers skip
        Files.write(root.resolve(FILE), (JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
    }

    static void writeSignals(Path file, WindowSignals signals, double learningRate) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("window", signals.window());
        m.put("end_step", signals.endStep());
        m.put("learning_rate", learningRate);
        m.put("signals", signalMap(signals));
        AtomicFiles.write(file, out -> JSON.writerWithDefaultPrettyPrinter().writeValue(out, m));
    }

    private static Map<String, Object> signalMap(WindowSignals s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vote_share", finiteOrNull(s.voteShare()));
        m.put("distinct_answers", finiteOrNull(s.distinctAnswers()));
        m.put("answer_rate", finiteOrNull(s.answerRate()));
        m.put("entropy", finiteOrNull(s.entropy()));
        m.put("response_length", finiteOrNull(s.responseLength()));
        m.put("kl", finiteOrNull(s.kl()));
        m.put("probe_share", finiteOrNull(s.probe().meanShare()));
        m.put("probe_answer_rate", finiteOrNull(s.probe().answerRate()));
        m.put("canary_accuracy", s.canaryAccuracy().isPresent() ? s.canaryAccuracy().getAsDouble() : null);
        return m;
    }

    private static Double finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
