package io.github.mmupt.onnx.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import io.github.mmupt.storage.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@value #FILE_NAME}: what a model directory holds and how its graphs are wired, so that
 * {@link OnnxPolicy} can load it and check every graph against it. Written by {@code TinyVlmBuilder}; write one
 * by hand for another export that follows the same three-graph contract.
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
        FileNames files, Io io, SpecialTokens tokens) {

    public static final String FILE_NAME = "mmupt-model.json";
    public static final String FORMAT = "mmupt-vlm/1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The files of a model directory. */
    public record FileNames(String vision, String embed, String decoder, String tokenizer) {
    }

    /**
     * Names in the graphs. Past and present names contain {@code %d} for the layer.
     */
    public record Io(String pixelValues, String imageFeatures, String inputIds, String inputsEmbeds,
            String attentionMask, String positionIds, String pastKey, String pastValue, String presentKey,
            String presentValue, String logits) {

        /** The names real optimum-style exports use, and the tiny model too. */
        public static Io standard() {
            return new Io("pixel_values", "image_features", "input_ids", "inputs_embeds", "attention_mask",
                    "position_ids", "past_key_values.%d.key", "past_key_values.%d.value", "present.%d.key",
                    "present.%d.value", "logits");
        }
    }

    /** Token ids with a role in prompts and sampling. */
    public record SpecialTokens(int pad, int bos, int eos, int image, int answer) {
    }

    public ModelManifest {
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("unsupported model format '" + format + "', expected " + FORMAT);
        }
        if (hiddenSize <= 0 || vocabSize <= 0 || layers <= 0 || kvHeads <= 0 || headDim <= 0 || imageSize <= 0
                || imageTokens <= 0 || maxPositions <= 0) {
            throw new IllegalArgumentException("model dimensions must be positive: " + this);
        }
        if (pixelMean == null || pixelStd == null || pixelMean.size() != 3 || pixelStd.size() != 3) {
            throw new IllegalArgumentException("pixelMean and pixelStd need 3 values (RGB)");
        }
        if (files == null || io == null || tokens == null) {
            throw new IllegalArgumentException("files, io and tokens must be present");
        }
        for (int id : new int[] {tokens.pad(), tokens.bos(), tokens.eos(), tokens.image(), tokens.answer()}) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("special token id " + id + " outside the vocabulary [0, " + vocabSize + ")");
            }
        }
    }

    public static ModelManifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException("not a model directory: " + dir.toAbsolutePath() + " has no " + FILE_NAME);
        }
        try {
            return JSON.readValue(file.toFile(), ModelManifest.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException(file.toAbsolutePath() + " is not a valid model manifest: " + e.getMessage(), e);
        }
    }

    public void write(Path dir) throws IOException {
        AtomicFiles.write(dir.resolve(FILE_NAME), out -> JSON.writeValue(out, this));
    }
}
