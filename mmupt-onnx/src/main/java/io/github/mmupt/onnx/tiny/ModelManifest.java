package io.github.mmupt.onnx.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.mmupt.onnx.family.GraphNames;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@value #FILE_NAME}: what a tiny model directory holds and how its graphs are wired, so that {@link TinyFamily}
 * can describe it to {@code OnnxPolicy}, which checks every graph against it. Written by {@link TinyVlmBuilder};
 * write one by hand for another export that follows the same three-graph contract and prompt layout.
 *
 * @param format       {@value #FORMAT}
 * @param hiddenSize   d
 * @param vocabSize    V
 * @param layers       decoder layers (one past/present key and value each)
 * @param kvHeads      key/value heads
 * @param headDim      width of a head
 * @param imageSize    images are resized to imageSize x imageSize
 * @param imageTokens  image tokens (vision-encoder rows) per image
 * @param maxPositions the largest sequence length the decoder supports
 * @param pixelMean    per-channel mean subtracted from pixels scaled to [0, 1]
 * @param pixelStd     per-channel divisor after that
 * @param files        the files, relative to the directory
 * @param io           the graphs' input and output names
 * @param tokens       special token ids
 */
public record ModelManifest(String format, int hiddenSize, int vocabSize, int layers, int kvHeads, int headDim,
        int imageSize, int imageTokens, int maxPositions, List<Double> pixelMean, List<Double> pixelStd,
        FileNames files, GraphNames io, SpecialTokens tokens) {

    /** The manifest's file name in a model directory. */
    public static final String FILE_NAME = "mmupt-model.json";
    /** The format this version reads and writes. */
    public static final String FORMAT = "mmupt-vlm/1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The files of a model directory: plain relative paths inside it. */
    public record FileNames(String vision, String embed, String decoder, String tokenizer) {

        void check() {
            String[] values = {vision, embed, decoder, tokenizer};
            String[] names = {"vision", "embed", "decoder", "tokenizer"};
            for (int i = 0; i < values.length; i++) {
                String v = values[i];
                if (v == null || v.isBlank()) {
                    throw new IllegalArgumentException("field files." + names[i] + " is missing");
                }
                Path p;
                try {
                    p = Path.of(v);
                } catch (java.nio.file.InvalidPathException e) {
                    throw new IllegalArgumentException("field files." + names[i] + " is not a valid path: " + e.getReason());
                }
                if (p.isAbsolute() || p.normalize().startsWith("..") || !p.normalize().equals(p)) {
                    throw new IllegalArgumentException("field files." + names[i] + " must be a plain path inside the "
                            + "model directory, got '" + v + "'");
                }
            }
        }
    }

    /** Token ids with a role in prompts and sampling. */
    public record SpecialTokens(int pad, int bos, int eos, int image, int answer) {
    }

    /**
     * Checks every field; a violation names the field.
     *
     * @param format the component {@code format}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param layers the component {@code layers}, described with the class
     * @param kvHeads the component {@code kvHeads}, described with the class
     * @param headDim the component {@code headDim}, described with the class
     * @param imageSize the component {@code imageSize}, described with the class
     * @param imageTokens the component {@code imageTokens}, described with the class
     * @param maxPositions the component {@code maxPositions}, described with the class
     * @param pixelMean the component {@code pixelMean}, described with the class
     * @param pixelStd the component {@code pixelStd}, described with the class
     * @param files the component {@code files}, described with the class
     * @param io the component {@code io}, described with the class
     * @param tokens the component {@code tokens}, described with the class
     */
    public ModelManifest {
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("field format is '" + format + "', expected " + FORMAT);
        }
        int[] dims = {hiddenSize, vocabSize, layers, kvHeads, headDim, imageSize, imageTokens, maxPositions};
        String[] names = {"hiddenSize", "vocabSize", "layers", "kvHeads", "headDim", "imageSize", "imageTokens",
            "maxPositions"};
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] <= 0) {
                throw new IllegalArgumentException("field " + names[i] + " must be a positive integer, got " + dims[i]
                        + (dims[i] == 0 ? " (or it is missing)" : ""));
            }
        }
        for (Map.Entry<String, List<Double>> e : Map.of("pixelMean", pixelMean == null ? List.<Double>of() : pixelMean,
                "pixelStd", pixelStd == null ? List.<Double>of() : pixelStd).entrySet()) {
            List<Double> v = e.getValue();
            if (v.size() != 3 || v.stream().anyMatch(x -> x == null || !Double.isFinite(x))) {
                throw new IllegalArgumentException("field " + e.getKey() + " needs 3 finite values (RGB), got " + v);
            }
        }
        if (pixelStd.stream().anyMatch(x -> x == 0)) {
            throw new IllegalArgumentException("field pixelStd must not hold 0, got " + pixelStd);
        }
        if (files == null || io == null || tokens == null) {
            throw new IllegalArgumentException("fields " + (files == null ? "files " : "") + (io == null ? "io " : "")
                    + (tokens == null ? "tokens " : "") + "must be present");
        }
        files.check();
        for (int id : new int[] {tokens.pad(), tokens.bos(), tokens.eos(), tokens.image(), tokens.answer()}) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("field tokens: special token id " + id + " outside the vocabulary [0, "
                        + vocabSize + ")");
            }
        }
    }

    /** A manifest is a few hundred bytes; anything larger is not one. */
    static final long MAX_FILE_BYTES = 1 << 20;

    /**
     * Reads {@value #FILE_NAME} from a model directory.
     *
     * @param dir the model directory
     * @return the manifest
     * @throws IOException naming the file and the field that is missing, mistyped or out of range
     */
    public static ModelManifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException("not a model directory: " + dir.toAbsolutePath() + " has no " + FILE_NAME);
        }
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file.toAbsolutePath() + " has " + Files.size(file) + " bytes; a model manifest has at "
                    + "most " + MAX_FILE_BYTES);
        }
        try {
            ModelManifest m = JSON.readValue(file.toFile(), ModelManifest.class);
            if (m == null) {
                throw new IOException("it holds null, not an object");
            }
            return m;
        } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            String field = fieldPath(e);
            throw new IOException(file.toAbsolutePath() + " is not a valid model manifest: "
                    + (field.isEmpty() ? "" : "field " + field + ": ") + cause.getMessage(), e);
        } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
            String field = fieldPath(e);
            throw new IOException(file.toAbsolutePath() + " is not a valid model manifest: "
                    + (field.isEmpty() ? "" : "field " + field + ": ") + e.getOriginalMessage(), e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file.toAbsolutePath() + " is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")", e);
        } catch (IOException | RuntimeException e) {
            throw new IOException(file.toAbsolutePath() + " is not a valid model manifest: " + e.getMessage(), e);
        }
    }

    /** Where in the JSON a mapping error happened, as {@code io.pastKey} or {@code pixelMean[2]}; empty at the top. */
    private static String fieldPath(com.fasterxml.jackson.databind.JsonMappingException e) {
        return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(java.util.stream.Collectors.joining(".")).replace(".[", "[");
    }

    /**
     * Writes {@value #FILE_NAME} into a model directory, atomically.
     *
     * @param dir the model directory
     * @throws IOException when writing fails
     */
    public void write(Path dir) throws IOException {
        AtomicFiles.write(dir.resolve(FILE_NAME), out -> JSON.writeValue(out, this));
    }
}
