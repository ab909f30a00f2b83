package io.github.mmupt.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.mmupt.prompt.ImageCache;
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
    /** One JSON value per line: text after it ({@code {..} {..}}, {@code {..} junk}) is an error, not dropped. */
    private static final com.fasterxml.jackson.databind.ObjectReader LINE_READER = JSON.reader()
            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

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

    /** {@return a reader with the defaults listed on {@link Reader}} */
    public static Reader reader() {
        return new Reader();
    }

    /**
     * Writes examples as JSONL beside their images (saved as PNG under {@code images/}). Image files are named
     * {@code images/<file>-<line number>-<id>.png} (the JSONL file's name without {@code .jsonl}, and the id
     * reduced to letters, digits, {@code .}, {@code _} and {@code -}, at most 64 of them), so an id can neither
     * leave the folder ({@code ../x}) nor make two examples share one file, and two datasets written to one
     * folder keep their own images. Every image is first written to a temporary file and only then renamed
     * into place, after all were read: examples whose images were read lazily from the files being replaced
     * (rewriting a dataset in place) still get their own pictures. The JSONL file is written atomically last.
     *
     * @param file the JSONL file to write
     * @param examples the examples, in order
     * @throws IOException when writing fails
     */
    public static void write(Path file, List<Example> examples) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path imageDir = dir.resolve("images");
        Files.createDirectories(imageDir);
        String stem = safeFileName(file.getFileName().toString().replaceFirst("\\.jsonl$", ""));
        StringBuilder out = new StringBuilder();
        Map<Path, Path> staged = new LinkedHashMap<>(); // temporary file -> its place
        try {
            for (int i = 0; i < examples.size(); i++) {
                Example e = examples.get(i);
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("id", e.prompt().id());
                line.put("problem", e.prompt().question());
                List<String> images = new ArrayList<>();
                for (int k = 0; k < e.prompt().images().size(); k++) {
                    String name = "images/" + stem + "-" + String.format("%06d", i + 1) + "-"
                            + safeFileName(e.prompt().id()) + (k == 0 ? "" : "_" + k) + ".png";
                    Path target = dir.resolve(name);
                    RgbImage image = e.prompt().images().get(k);
                    if (!image.file().map(target::equals).orElse(false)) { // already there: nothing to write
                        Path tmp = Files.createTempFile(imageDir, ".write-", ".png");
                        staged.put(tmp, target);
                        try (var os = Files.newOutputStream(tmp)) {
                            javax.imageio.ImageIO.write(image.toBufferedImage(), "png", os);
                        }
                    }
                    images.add(name);
                }
                line.put("images", images);
                e.goldAnswer().ifPresent(a -> line.put("answer", a));
                e.goldResponse().ifPresent(r -> line.put("response", r));
                e.provenance().ifPresent(p -> line.put(PROVENANCE_FIELD, provenanceJson(p)));
                out.append(JSON.writeValueAsString(line)).append('\n');
            }
            for (Map.Entry<Path, Path> m : staged.entrySet()) {
                AtomicFiles.move(m.getKey(), m.getValue());
            }
        } finally {
            for (Path tmp : staged.keySet()) {
                Files.deleteIfExists(tmp);
            }
        }
        AtomicFiles.write(file, out.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** An id as a file-name part: safe characters only, no leading dot, at most 64 characters. */
    static String safeFileName(String id) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < id.length() && b.length() < 64; i++) {
            char c = id.charAt(i);
            boolean safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
                    || c == '-' || (c == '.' && b.length() > 0);
            b.append(safe ? c : '_');
        }
        return b.toString();
    }

    /**
     * Options of reading; defaults are MM-UPT's field names, {@link DataErrorPolicy#FAIL}, images confined to the
     * dataset's folder, {@link RgbImage#DEFAULT_MAX_PIXELS} per image and a cache of
     * {@link ImageCache#DEFAULT_BYTES} of decoded pixels.
     *
     * <p>What a line must be: valid UTF-8 (a byte-order mark before the first line is ignored), exactly one JSON
     * object (trailing text is an error, not ignored), {@code problem} a non-blank string, {@code images} a list
     * of path strings, {@code answer} and {@code response} strings or numbers, {@code id} a string or number. Any
     * failure on a line, whatever its cause, is a {@link DatasetException} naming the file and line, which
     * {@link DataErrorPolicy#SKIP} skips.
     *
     * <p>Images: each path is checked when the file is read (inside the folder, present, an image whose header
     * size is within the pixel budget) and decoded when a step needs it, through the cache; repeated paths
     * share one image. An image file that is corrupt past its header fails when it is decoded, with an
     * {@link UncheckedIOException} naming it.
     */
    public static final class Reader {
        private String problemField = "problem";
        private String answerField = "answer";
        private String imagesField = "images";
        private String responseField = "response";
        private String idField = "id";
        private DataErrorPolicy onError = DataErrorPolicy.FAIL;
        private boolean confineImages = true;
        private long maxImagePixels = RgbImage.DEFAULT_MAX_PIXELS;
        private ImageCache imageCache;

        private Reader() {
        }

        /**
         * Field names other than MM-UPT's.
         *
         * @param problem the question's field (default {@code problem})
         * @param answer the gold answer's field (default {@code answer})
         * @param images the image paths' field (default {@code images})
         * @return this reader
         */
        public Reader fields(String problem, String answer, String images) {
            this.problemField = problem;
            this.answerField = answer;
            this.imagesField = images;
            return this;
        }

        /**
         * The gold response's field (default {@code response}).
         *
         * @param field its name
         * @return this reader
         */
        public Reader responseField(String field) {
            this.responseField = field;
            return this;
        }

        /**
         * What a bad line does: fail the read (default) or be skipped and counted.
         *
         * @param policy FAIL or SKIP
         * @return this reader
         */
        public Reader onError(DataErrorPolicy policy) {
            this.onError = policy;
            return this;
        }

        /**
         * Whether image paths must stay inside the folder of the JSONL file (default true). Confined, a path
         * that is absolute, climbs out with {@code ..}, or resolves through a symbolic link to a file outside
         * is refused before anything is opened, so a dataset from an untrusted source (an upload) cannot make
         * the library read other files or tell which exist. Turn it off for a trusted file whose images live
         * elsewhere.
         *
         * @param confine whether to confine image paths
         * @return this reader
         */
        public Reader confineImages(boolean confine) {
            this.confineImages = confine;
            return this;
        }

        /**
         * The largest image, in pixels (width x height from the header), accepted. Default {@link
         * RgbImage#DEFAULT_MAX_PIXELS}.
         *
         * @param pixels width x height at most
         * @return this reader
         */
        public Reader maxImagePixels(long pixels) {
            if (pixels <= 0) {
                throw new IllegalArgumentException("maxImagePixels must be positive, got " + pixels);
            }
            this.maxImagePixels = pixels;
            return this;
        }

        /**
         * Where decoded pixels are kept; share one between datasets to bound them together. Default: a new cache of
         * {@link ImageCache#DEFAULT_BYTES} per read.
         *
         * @param cache the cache
         * @return this reader
         */
        public Reader imageCache(ImageCache cache) {
            if (cache == null) {
                throw new IllegalArgumentException("imageCache must not be null");
            }
            this.imageCache = cache;
            return this;
        }

        /**
         * Reads a file.
         *
         * @param file a JSONL file
         * @return its examples and the lines skipped
         * @throws DatasetException naming the file and line, for the first bad line under {@code FAIL}
         */
        public Dataset read(Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                throw new IOException("dataset file not found: " + file.toAbsolutePath());
            }
            byte[] bytes = Files.readAllBytes(file);
            Path folder = file.toAbsolutePath().getParent().normalize();
            LineContext context = new LineContext(file, folder, folder.toRealPath(), imageCache != null ? imageCache
                    : new ImageCache(ImageCache.DEFAULT_BYTES), new java.util.HashMap<>());
            List<Example> examples = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            int lineNumber = 0;
            int start = 0;
            while (start < bytes.length) {
                int end = start;
                while (end < bytes.length && bytes[end] != '\n') {
                    end++;
                }
                lineNumber++;
                int from = start;
                if (lineNumber == 1 && end - start >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
                        && (bytes[2] & 0xff) == 0xBF) {
                    from += 3; // a UTF-8 byte-order mark, as some editors write
                }
                int to = end > from && bytes[end - 1] == '\r' ? end - 1 : end;
                start = end + 1;
                try {
                    String text = utf8(file, lineNumber, bytes, from, to);
                    if (text.isBlank()) {
                        continue;
                    }
                    examples.add(parseLine(context, lineNumber, text));
                } catch (DatasetException e) {
                    if (onError == DataErrorPolicy.FAIL) {
                        throw e;
                    }
                    skipped.add(e.getMessage());
                }
            }
            if (!skipped.isEmpty()) {
                LOG.warn("{}: skipped {} of {} lines; first: {}", file, skipped.size(), lineNumber, skipped.get(0));
            }
            return new Dataset(file.toString(), examples, skipped);
        }

        /** What every line of one read shares: the file, its folder (as given and real), the cache, opened images. */
        private record LineContext(Path file, Path folder, Path realFolder, ImageCache cache,
                Map<Path, RgbImage> opened) {
        }

        private static String utf8(Path file, int line, byte[] bytes, int from, int to) throws DatasetException {
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes, from, to - from)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new DatasetException(file, line, "not valid UTF-8 (a " + e.getClass().getSimpleName()
                        .replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT)
                        + "; the file must be UTF-8 encoded)");
            }
        }

        /** Parses one line; any failure at all becomes a {@link DatasetException} naming the line. */
        private Example parseLine(LineContext context, int line, String text) throws DatasetException {
            try {
                return parse(context, line, text);
            } catch (DatasetException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new DatasetException(context.file(), line, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        private Example parse(LineContext context, int line, String text) throws IOException {
            Path file = context.file();
            JsonNode node;
            try {
                node = LINE_READER.readTree(text);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new DatasetException(file, line, "not valid JSON, or more than one JSON value on the line ("
                        + e.getOriginalMessage() + ")");
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
                    if (!p.isTextual()) {
                        throw new DatasetException(file, line, "field '" + imagesField + "' must hold path strings, got "
                                + brief(p));
                    }
                    images.add(image(context, line, p.textValue()));
                }
            }
            String id = node.hasNonNull(idField) ? scalar(file, line, node, idField).orElseThrow()
                    : file.getFileName() + ":" + line;
            Optional<Provenance> provenance = Optional.empty();
            JsonNode synthesis = node.get(PROVENANCE_FIELD);
            if (synthesis != null && !synthesis.isNull()) {
                provenance = Optional.of(provenance(file, line, synthesis));
            }
            try {
                Prompt prompt = new Prompt(id, images, problem.asText());
                return new Example(prompt, scalar(file, line, node, answerField), scalar(file, line, node, responseField),
                        provenance);
            } catch (IllegalArgumentException e) {
                throw new DatasetException(file, line, e.getMessage());
            }
        }

        /** Opens one image path of a line: confined, budgeted, shared with earlier lines that name the same file. */
        private RgbImage image(LineContext context, int line, String path) throws DatasetException {
            Path file = context.file();
            Path folder = context.folder();
            Path resolved;
            try {
                resolved = folder.resolve(path).normalize();
            } catch (java.nio.file.InvalidPathException e) {
                throw new DatasetException(file, line, "image path " + brief(path) + " is not a valid path ("
                        + e.getReason() + ")");
            }
            if (confineImages && (Path.of(path).isAbsolute() || !resolved.startsWith(folder))) {
                throw new DatasetException(file, line, "image path " + brief(path) + " points out of the dataset's folder "
                        + folder + "; images are confined to it (JsonlDataset.reader().confineImages(false) allows "
                        + "a trusted file to point elsewhere)");
            }
            RgbImage known = context.opened().get(resolved);
            if (known != null) {
                return known; // the same file, already checked through links and opened for an earlier line
            }
            if (confineImages && Files.exists(resolved)) {
                Path real;
                try {
                    real = resolved.toRealPath();
                } catch (IOException e) {
                    throw new DatasetException(file, line, "image " + brief(path) + ": " + e.getMessage());
                }
                if (!real.startsWith(context.realFolder())) {
                    throw new DatasetException(file, line, "image path " + brief(path) + " leads through a link "
                            + "out of the dataset's folder " + folder + "; images are confined to it");
                }
            }
            try {
                RgbImage image = RgbImage.open(resolved, context.cache(), maxImagePixels);
                context.opened().put(resolved, image);
                return image;
            } catch (IOException | UncheckedIOException e) {
                throw new DatasetException(file, line, "image " + brief(path) + ": " + e.getMessage());
            }
        }

        private static Provenance provenance(Path file, int line, JsonNode p) throws DatasetException {
            if (!p.isObject() || !p.hasNonNull("strategy") || !p.hasNonNull("source_id") || !p.hasNonNull("source_question")) {
                throw new DatasetException(file, line, "field '" + PROVENANCE_FIELD + "' must be an object with strategy, "
                        + "source_id and source_question");
            }
            try {
                return new Provenance(scalar(file, line, p, "strategy").orElseThrow(),
                        scalar(file, line, p, "source_id").orElseThrow(),
                        scalar(file, line, p, "source_question").orElseThrow(), scalar(file, line, p, "source_answer"),
                        p.path("candidate").asInt(0));
            } catch (IllegalArgumentException e) {
                throw new DatasetException(file, line, "field '" + PROVENANCE_FIELD + "': " + e.getMessage());
            }
        }

        /** A string or number field; an object, list or boolean is an error rather than a silent "". */
        private static Optional<String> scalar(Path file, int line, JsonNode node, String field) throws DatasetException {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            if (!v.isTextual() && !v.isNumber()) {
                throw new DatasetException(file, line, "field '" + field + "' must be a string or a number, got "
                        + brief(v));
            }
            return Optional.of(v.asText());
        }

        private static String brief(Object value) {
            String s = String.valueOf(value).replace("\0", "\\0");
            return s.length() <= 120 ? s : s.substring(0, 120) + "... (" + s.length() + " characters)";
        }
    }
}
