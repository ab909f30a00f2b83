package io.github.mmupt.onnx.qwen;

import com.google.common.primitives.ImmutableIntArray;
import com.google.common.primitives.ImmutableLongArray;
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
import io.github.mmupt.onnx.tokenizer.ByteLevelBpeTokenizer;
import io.github.mmupt.prompt.Prompt;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The Qwen2-VL / Qwen2.5-VL family, as onnx-community / transformers.js export it
 * ({@code onnx/vision_encoder*.onnx}, {@code onnx/embed_tokens*.onnx}, {@code onnx/decoder_model_merged*.onnx} and
 * the Hugging Face settings files): the Qwen byte-level BPE tokenizer, the model's chat template for one user
 * turn, Hugging Face's image processor (bit-exact), {@code <|image_pad|>} tokens expanded to each image's merged
 * patch count, and M-RoPE positions ({@code [3, B, S]}, with the prompt's rope delta for generated tokens).
 *
 * <p>The vision graph takes {@code pixel_values} [patches, 1176] and the image grid, named {@code grid_thw} in
 * Qwen2-VL exports and {@code image_grid_thw} in Qwen2.5-VL ones, and gives {@code image_features}
 * [patches / 4, hidden]. The ids are checked against the tokenizer when the family opens: the config's image and
 * vision-start ids must be the tokenizer's {@code <|image_pad|>} and {@code <|vision_start|>}.
 *
 * <pre>{@code
 * ModelFamily family = QwenFamily.open(modelDir, OnnxVariant.FP32);
 * try (OnnxPolicy policy = OnnxPolicy.open(family, PolicyOptions.defaults())) { ... }
 * }</pre>
 */
public final class QwenFamily implements ModelFamily {

    private final QwenModelDirectory files;
    private final ByteLevelBpeTokenizer tokenizer;
    private final QwenImageProcessor processor;
    private final QwenChatTemplate template;
    private final QwenRopeIndex ropeIndex;
    private final TrunkShape shape;
    private final int visionStart;
    private final int visionEnd;
    private final int imagePad;

    private QwenFamily(QwenModelDirectory files, ByteLevelBpeTokenizer tokenizer, QwenImageProcessor processor,
            QwenChatTemplate template) throws IOException {
        this.files = files;
        this.tokenizer = tokenizer;
        this.processor = processor;
        this.template = template;
        QwenVlConfig c = files.config();
        this.shape = new TrunkShape(c.hiddenSize(), c.vocabSize(), c.numHiddenLayers(), c.numKeyValueHeads(),
                c.headDim(), c.maxPositionEmbeddings());
        this.visionStart = specialId(QwenChatTemplate.VISION_START, c.visionStartTokenId());
        this.visionEnd = specialId(QwenChatTemplate.VISION_END, c.visionEndTokenId());
        this.imagePad = specialId(QwenChatTemplate.IMAGE_PAD, c.imageTokenId());
        specialId(QwenChatTemplate.IM_START, -1);
        specialId(QwenChatTemplate.IM_END, -1);
        if (processor.mergeSize() != c.spatialMergeSize()) {
            throw new IOException(files.preprocessorConfig().toAbsolutePath() + ": merge_size " + processor.mergeSize()
                    + " differs from config.json's spatial_merge_size " + c.spatialMergeSize());
        }
        this.ropeIndex = new QwenRopeIndex(visionStart, imagePad, c.spatialMergeSize());
    }

    /**
     * Reads a Qwen2-VL / Qwen2.5-VL model directory.
     *
     * @param directory the directory, as downloaded
     * @param variant which weights to use (suffix of the ONNX files)
     * @return the family
     * @throws IOException naming the file when one is missing or invalid, or when files disagree
     */
    public static QwenFamily open(Path directory, OnnxVariant variant) throws IOException {
        QwenModelDirectory files = QwenModelDirectory.open(directory, variant);
        ByteLevelBpeTokenizer tokenizer = ByteLevelBpeTokenizer.read(files.tokenizer());
        QwenImageProcessor processor = QwenImageProcessor.read(files.preprocessorConfig());
        QwenChatTemplate template = QwenChatTemplate.read(files.chatTemplate());
        return new QwenFamily(files, tokenizer, processor, template);
    }

    /** The id the tokenizer gives a special token, which must equal the config's where it names one. */
    private int specialId(String token, int configured) throws IOException {
        var id = tokenizer.id(token);
        if (id.isEmpty()) {
            throw new IOException(files.tokenizer().toAbsolutePath() + " has no " + token + " token");
        }
        if (configured >= 0 && id.getAsInt() != configured) {
            throw new IOException(files.tokenizer().toAbsolutePath() + " gives " + token + " id " + id.getAsInt()
                    + " but config.json says " + configured);
        }
        return id.getAsInt();
    }

    /** {@return the directory's files and settings} */
    public QwenModelDirectory files() {
        return files;
    }

    /** {@return the chat template prompts are rendered with} */
    public QwenChatTemplate chatTemplate() {
        return template;
    }

    /** {@return the image processor (pixel range from {@code preprocessor_config.json})} */
    public QwenImageProcessor imageProcessor() {
        return processor;
    }

    @Override
    public String name() {
        return files.config().modelType();
    }

    @Override
    public Path directory() {
        return files.directory();
    }

    @Override
    public TrunkShape shape() {
        return shape;
    }

    @Override
    public GraphNames names() {
        return GraphNames.standard();
    }

    @Override
    public ByteLevelBpeTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ImmutableIntArray endOfSequence() {
        return ImmutableIntArray.copyOf(files.generationConfig().eosTokenIds());
    }

    @Override
    public int padToken() {
        return files.generationConfig().padTokenId().orElse(files.generationConfig().eosTokenIds().get(0));
    }

    @Override
    public int positionAxes() {
        return 3;
    }

    @Override
    public String visionFile() {
        return relative(files.visionEncoder());
    }

    @Override
    public String embedFile() {
        return relative(files.embedTokens());
    }

    @Override
    public String decoderFile() {
        return relative(files.decoder());
    }

    private String relative(Path file) {
        return files.directory().relativize(file).toString();
    }

    /** {@return the vision graph's grid input: {@code grid_thw} (Qwen2-VL exports) or {@code image_grid_thw}} */
    public String gridInput() {
        return "qwen2_vl".equals(files.config().modelType()) ? "grid_thw" : "image_grid_thw";
    }

    @Override
    public EncodedPrompt encode(Prompt prompt) {
        List<QwenPixelValues> pixels = new ArrayList<>();
        for (int k = 0; k < prompt.images().size(); k++) {
            pixels.add(processor.process(prompt.images().get(k), "prompt " + prompt.id() + " image " + k));
        }
        ImmutableIntArray.Builder ids = ImmutableIntArray.builder();
        List<Integer> starts = new ArrayList<>();
        int length = 0;
        for (QwenChatTemplate.Piece piece : template.userTurn(prompt.question(), pixels.size())) {
            switch (piece.kind()) {
                case SPECIAL -> {
                    ids.add(tokenizer.requireId(piece.value()));
                    length++;
                }
                case TEXT -> {
                    ImmutableIntArray text = tokenizer.encode(piece.value());
                    ids.addAll(text);
                    length += text.length();
                }
                case IMAGE -> {
                    int rows = pixels.get(starts.size()).imageTokens();
                    ids.add(visionStart);
                    starts.add(length + 1);
                    for (int i = 0; i < rows; i++) {
                        ids.add(imagePad);
                    }
                    ids.add(visionEnd);
                    length += rows + 2;
                }
                default -> throw new IllegalStateException("unknown piece " + piece);
            }
        }
        ImmutableIntArray built = ids.build();
        List<long[]> grids = pixels.stream().map(QwenPixelValues::gridThw).toList();
        RopePositions rope = ropeIndex.compute(new int[][] {built.toArray()}, null, grids);
        PromptPositions positions = new PromptPositions(3, ImmutableLongArray.copyOf(rope.positions()),
                rope.ropeDeltas()[0]);
        List<ImageSlot> slots = new ArrayList<>();
        for (int k = 0; k < pixels.size(); k++) {
            QwenPixelValues pv = pixels.get(k);
            FeedTensor values = FeedTensor.floats(names().pixelValues(), new long[] {pv.patches(), pv.patchDim()},
                    pv.values());
            FeedTensor grid = FeedTensor.longs(gridInput(), new long[] {1, 3}, pv.gridThw());
            slots.add(new ImageSlot(starts.get(k), new VisionFeed(List.of(values, grid), names().imageFeatures(),
                    new long[] {pv.imageTokens(), shape.hiddenSize()}, pv.imageTokens())));
        }
        return new EncodedPrompt(built, slots, positions);
    }

    @Override
    public void checkVision(OnnxModel vision) throws IOException {
        int patchDim = 3 * processor.temporalPatchSize() * processor.patchSize() * processor.patchSize();
        GraphContract.expect(vision, true, names().pixelValues(), GraphContract.FLOATING, -1, patchDim);
        GraphContract.expect(vision, true, gridInput(), "INT64", -1, 3);
        GraphContract.expect(vision, false, names().imageFeatures(), GraphContract.FLOATING, -1, shape.hiddenSize());
    }

    /** {@inheritDoc} Exports name it after the graph: {@code decoder_model_merged.onnx_data}. */
    @Override
    public Optional<String> decoderDataFile() {
        String name = files.decoder().getFileName() + "_data";
        return java.nio.file.Files.isRegularFile(files.decoder().resolveSibling(name)) ? Optional.of(name)
                : Optional.empty();
    }

    @Override
    public List<String> unchangedFiles() {
        List<String> out = new ArrayList<>(List.of(visionFile(), embedFile(), "config.json", "generation_config.json",
                "preprocessor_config.json", "tokenizer.json", relative(files.chatTemplate())));
        for (String extra : List.of("tokenizer_config.json", "chat_template.json")) {
            if (!out.contains(extra) && java.nio.file.Files.isRegularFile(files.directory().resolve(extra))) {
                out.add(extra);
            }
        }
        return out;
    }
}
