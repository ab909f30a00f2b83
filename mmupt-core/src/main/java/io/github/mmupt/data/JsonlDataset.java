package io.github.mmupt.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes JSONL datasets with MM-UPT/EasyR1 field names: one JSON object per line with
 * {@code problem} (the question, {@code <image>} placeholders marking the images), {@code images} (paths
 * relative to the file), optional {@code answer} (gold final answer), {@code response} (gold response, for SFT),
 * {@code id}, and {@code synthesis} (a synthesized question's {@link Provenance}: strategy, source_id,
 * source_question, source_answer, candidate). Field names are configurable, except {@code synthesis}.
 *
 * <pre>{@code
 * Dataset train = JsonlDataset.reader().onError(DataErrorPolicy.SKIP).read(Path.of("data/train.jsonl"));
 * }</pre>
 */
public final class JsonlDataset {

    private static final Logger LOG = LoggerFactory.getLogger(JsonlDataset.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The field that holds a synthesized question's {@link Provenance}. */
    public static final String PROVENANCE_FIELD = "synthesis";

    private JsonlDataset() {
    }

    private static Map<String, Object> provenanceJson(Provenance p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("strategy", p.strategy());
        m.put("source_id", p.sourceId());
        m.put("source_question", p.sourceQuestion());
        p.sourceAnswer().ifPresent(a -> m.put("source_answer", a));
        m.put("candidate", p.candidate());
        return m;
    }

    public static Reader reader() {
        return new Reader();
    }

    /** Writes examples as JSONL beside their images (saved as PNG under {@code images/}); atomic per file. */
    public static void write(Path file, List<Example> examples) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path imageDir = dir.resolve("images");
        Files.createDirectories(imageDir);
        StringBuilder out = new StringBuilder();
        for (Example e : examples) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("id", e.prompt().id());
            line.put("problem", e.prompt().question());
            List<String> images = new ArrayList<>();
            for (int k = 0; k < e.prompt().images().size(); k++) {
                String name = "images/" + e.prompt().id() + (k == 0 ? "" : "_" + k) + ".png";
                RgbImage image = e.prompt().images().get(k);
                AtomicFiles.write(dir.resolve(name), os -> javax.imageio.ImageIO.write(image.toBufferedImage(), "png", os));
                images.add(name);
            }
            line.put("images", images);
            e.goldAnswer().ifPresent(a -> line.put("answer", a));
            e.goldResponse().ifPresent(r -> line.put("response", r));
            e.provenance().ifPresent(p -> line.put(PROVENANCE_FIELD, provenanceJson(p)));
            out.append(JSON.writeValueAsString(line)).append('\n');
        }
        AtomicFiles.write(file, out.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Options of reading; defaults are MM-UPT's field names and {@link DataErrorPolicy#FAIL}. */
    public static final class Reader {
        private String problemField = "problem";
        private String answerField = "answer";
        private String imagesField = "images";
        private String responseField = "response";
        private String idField = "id";
        private DataErrorPolicy onError = DataErrorPolicy.FAIL;

        private Reader() {
        }

        public Reader fields(String problem, String answer, String images) {
            this.problemField = problem;
            this.answerField = answer;
            this.imagesField = images;
            return this;
        }

        public Reader responseField(String field) {
            this.responseField = field;
            return this;
        }

        public Reader onError(DataErrorPolicy policy) {
            this.onError = policy;
            return this;
        }

        /**
         * Reads a file.
         *
         * @throws DatasetException naming the file and line, for the first bad line under {@code FAIL}
         */
        public Dataset read(Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                throw new IOException("dataset file not found: " + file.toAbsolutePath());
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<Example> examples = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String text = lines.get(i);
                if (text.isBlank()) {
                    continue;
                }
                try {
                    examples.add(parse(file, i + 1, text));
                } catch (DatasetException e) {
                    if (onError == DataErrorPolicy.FAIL) {
                        throw e;
                    }
                    skipped.add(e.getMessage());
                }
            }
            if (!skipped.isEmpty()) {
                LOG.warn("{}: skipped {} of {} lines; first: {}", file, skipped.size(), lines.size(), skipped.get(0));
            }
            return new Dataset(file.toString(), examples, skipped);
        }

        private Example parse(Path file, int line, String text) throws DatasetException {
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new DatasetException(file, line, "not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (node == null || !node.isObject()) {
                throw new DatasetException(file, line, "expected a JSON object");
            }
            JsonNode problem = node.get(problemField);
            if (problem == null || !problem.isTextual() || problem.asText().isBlank()) {
                throw new DatasetException(file, line, "missing or empty text field '" + problemField + "'");
            }
            List<RgbImage> images = new ArrayList<>();
            JsonNode paths = node.get(imagesField);
            if (paths != null && !paths.isNull()) {
                if (!paths.isArray()) {
                    throw new DatasetException(file, line, "field '" + imagesField + "' must be a list of paths");
                }
                for (JsonNode p : paths) {
                    Path image = file.toAbsolutePath().getParent().resolve(p.asText());
                    try {
                        images.add(RgbImage.read(image));
                    } catch (IOException | UncheckedIOException e) {
                        throw new DatasetException(file, line, "image " + p.asText() + ": " + e.getMessage());
                    }
                }
            }
            String id = node.hasNonNull(idField) ? node.get(idField).asText() : file.getFileName() + ":" + line;
            Optional<Provenance> provenance = Optional.empty();
            JsonNode synthesis = node.get(PROVENANCE_FIELD);
            if (synthesis != null && !synthesis.isNull()) {
                provenance = Optional.of(provenance(file, line, synthesis));
            }
            try {
                Prompt prompt = new Prompt(id, images, problem.asText());
                return new Example(prompt, text(node, answerField), text(node, responseField), provenance);
            } catch (IllegalArgumentException e) {
                throw new DatasetException(file, line, e.getMessage());
            }
        }

        private static Provenance provenance(Path file, int line, JsonNode p) throws DatasetException {
            if (!p.isObject() || !p.hasNonNull("strategy") || !p.hasNonNull("source_id") || !p.hasNonNull("source_question")) {
                throw new DatasetException(file, line, "field '" + PROVENANCE_FIELD + "' must be an object with strategy, "
                        + "source_id and source_question");
            }
            try {
                return new Provenance(p.get("strategy").asText(), p.get("source_id").asText(),
                        p.get("source_question").asText(), text(p, "source_answer"), p.path("candidate").asInt(0));
            } catch (IllegalArgumentException e) {
                throw new DatasetException(file, line, "field '" + PROVENANCE_FIELD + "': " + e.getMessage());
            }
        }

        private static Optional<String> text(JsonNode node, String field) {
            JsonNode v = node.get(field);
            return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
        }
    }
}
