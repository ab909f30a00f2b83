package io.github.mmupt.onnx.tiny;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.family.FeedTensor;
import io.github.mmupt.onnx.family.GraphContract;
import io.github.mmupt.onnx.family.GraphNames;
import io.github.mmupt.onnx.family.ImageSlot;
import io.github.mmupt.onnx.family.ModelFamily;
import io.github.mmupt.onnx.family.PromptPositions;
import io.github.mmupt.onnx.family.TrunkShape;
import io.github.mmupt.onnx.family.VisionFeed;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The family of the generated tiny model (the embedded default and the tests), described by its
 * {@link ModelManifest}: a word-level tokenizer, square images resized to the manifest's size and normalised
 * per channel, a fixed number of image tokens per image, and 1-D positions.
 *
 * <p>Prompt layout: {@code <bos>}, the question text with {@value Prompt#IMAGE_PLACEHOLDER} replaced by one image
 * token per vision-encoder row (images first when there is no placeholder), then {@code <answer>}; the image
 * features overwrite the embeddings at the image positions.
 *
 * <pre>{@code
 * ModelFamily family = TinyFamily.open(modelDir);
 * EncodedPrompt e = family.encode(prompt);
 * }</pre>
 */
public final class TinyFamily implements ModelFamily {

    private final Path directory;
    private final ModelManifest manifest;
    private final VocabularyTokenizer tokenizer;
    private final TrunkShape shape;

    private TinyFamily(Path directory, ModelManifest manifest, VocabularyTokenizer tokenizer) {
        this.directory = directory;
        this.manifest = manifest;
        this.tokenizer = tokenizer;
        this.shape = new TrunkShape(manifest.hiddenSize(), manifest.vocabSize(), manifest.layers(), manifest.kvHeads(),
                manifest.headDim(), manifest.maxPositions());
    }

    /**
     * Reads a tiny model directory's manifest and tokenizer.
     *
     * @param directory the model directory (with {@value ModelManifest#FILE_NAME})
     * @return the family
     * @throws IOException when the manifest or the tokenizer is missing or invalid, or they disagree on V
     */
    public static TinyFamily open(Path directory) throws IOException {
        ModelManifest m = ModelManifest.read(directory);
        Path tokenizerFile = directory.resolve(m.files().tokenizer());
        VocabularyTokenizer tokenizer = VocabularyTokenizer.read(tokenizerFile);
        if (tokenizer.vocabSize() != m.vocabSize()) {
            throw new IOException(tokenizerFile + " has " + tokenizer.vocabSize() + " tokens but the manifest says V = "
                    + m.vocabSize());
        }
        return new TinyFamily(directory, m, tokenizer);
    }

    /** {@return what the model directory declares} */
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public String name() {
        return "tiny";
    }

    @Override
    public Path directory() {
        return directory;
    }

    @Override
    public TrunkShape shape() {
        return shape;
    }

    @Override
    public GraphNames names() {
        return manifest.io();
    }

    @Override
    public VocabularyTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ImmutableIntArray endOfSequence() {
        return ImmutableIntArray.of(manifest.tokens().eos());
    }

    @Override
    public int padToken() {
        return manifest.tokens().pad();
    }

    @Override
    public int positionAxes() {
        return 1;
    }

    @Override
    public String visionFile() {
        return manifest.files().vision();
    }

    @Override
    public String embedFile() {
        return manifest.files().embed();
    }

    @Override
    public String decoderFile() {
        return manifest.files().decoder();
    }

    @Override
    public List<String> unchangedFiles() {
        return List.of(manifest.files().vision(), manifest.files().embed(), manifest.files().tokenizer(),
                ModelManifest.FILE_NAME);
    }

    @Override
    public EncodedPrompt encode(Prompt prompt) {
        ModelManifest.SpecialTokens st = manifest.tokens();
        ImmutableIntArray.Builder ids = ImmutableIntArray.builder();
        List<Integer> starts = new ArrayList<>();
        ids.add(st.bos());
        String question = prompt.question();
        if (Prompt.placeholderCount(question) == 0) {
            for (int k = 0; k < prompt.images().size(); k++) {
                starts.add(ids.build().length());
                addImageTokens(ids);
            }
            ids.addAll(tokenizer.encode(question));
        } else {
            String[] parts = question.split(Pattern.quote(Prompt.IMAGE_PLACEHOLDER), -1);
            for (int k = 0; k < parts.length; k++) {
                ids.addAll(tokenizer.encode(parts[k]));
                if (k < parts.length - 1) {
                    starts.add(ids.build().length());
                    addImageTokens(ids);
                }
            }
        }
        ids.add(st.answer());
        List<ImageSlot> slots = new ArrayList<>();
        for (int k = 0; k < prompt.images().size(); k++) {
            slots.add(new ImageSlot(starts.get(k), visionFeed(prompt.images().get(k))));
        }
        ImmutableIntArray built = ids.build();
        return new EncodedPrompt(built, slots, PromptPositions.sequential(built.length()));
    }

    private void addImageTokens(ImmutableIntArray.Builder ids) {
        for (int i = 0; i < manifest.imageTokens(); i++) {
            ids.add(manifest.tokens().image());
        }
    }

    /** The image resized to the manifest's square and normalised per channel, [1, 3, s, s]. */
    private VisionFeed visionFeed(RgbImage image) {
        int s = manifest.imageSize();
        RgbImage sized = image.width() == s && image.height() == s ? image : resize(image, s);
        byte[] rgb = sized.toRgbBytes();
        float[] pixels = new float[3 * s * s];
        for (int c = 0; c < 3; c++) {
            double mean = manifest.pixelMean().get(c);
            double std = manifest.pixelStd().get(c);
            for (int i = 0; i < s * s; i++) {
                pixels[c * s * s + i] = (float) (((rgb[3 * i + c] & 0xff) / 255.0 - mean) / std);
            }
        }
        FeedTensor in = FeedTensor.floats(manifest.io().pixelValues(), new long[] {1, 3, s, s}, pixels);
        return new VisionFeed(List.of(in), manifest.io().imageFeatures(),
                new long[] {1, manifest.imageTokens(), manifest.hiddenSize()}, manifest.imageTokens());
    }

    private static RgbImage resize(RgbImage image, int size) {
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image.toBufferedImage(), 0, 0, size, size, null);
        g.dispose();
        return RgbImage.from(out);
    }

    @Override
    public void checkVision(OnnxModel vision) throws IOException {
        long s = manifest.imageSize();
        GraphContract.expect(vision, true, manifest.io().pixelValues(), GraphContract.FLOATING, 1, 3, s, s);
        GraphContract.expect(vision, false, manifest.io().imageFeatures(), GraphContract.FLOATING, 1, manifest.imageTokens(),
                manifest.hiddenSize());
    }
}
