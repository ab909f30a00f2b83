package io.github.mmupt.onnx.qwen;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A Qwen2-VL / Qwen2.5-VL export as users download it (the onnx-community / transformers.js layout): the three
 * graphs under {@code onnx/} in one {@link OnnxVariant}, with {@code config.json}, {@code tokenizer.json},
 * {@code preprocessor_config.json}, {@code generation_config.json} and the chat template beside them. Opening
 * checks that every file is there and names each one that is not; no manifest of ours is needed.
 *
 * <pre>{@code
 * QwenModelDirectory model = QwenModelDirectory.open(Path.of("Qwen2-VL-2B-Instruct"), OnnxVariant.Q4F16);
 * model.config().modelType();   // "qwen2_vl"
 * model.decoder();              // .../onnx/decoder_model_merged_q4f16.onnx
 * }</pre>
 *
 * @param directory          the model directory
 * @param config             its {@code config.json}
 * @param variant            the weights opened
 * @param visionEncoder      {@code onnx/vision_encoder*.onnx}
 * @param embedTokens        {@code onnx/embed_tokens*.onnx}
 * @param decoder            {@code onnx/decoder_model_merged*.onnx}
 * @param tokenizer          {@code tokenizer.json}
 * @param preprocessorConfig {@code preprocessor_config.json}
 * @param generationConfig   {@code generation_config.json}, read
 * @param chatTemplate       {@code chat_template.json} or {@code tokenizer_config.json} (which holds the template)
 */
public record QwenModelDirectory(Path directory, QwenVlConfig config, OnnxVariant variant, Path visionEncoder,
        Path embedTokens, Path decoder, Path tokenizer, Path preprocessorConfig, GenerationConfig generationConfig,
        Path chatTemplate) {

    /** The graphs of the layout, by base name. */
    public static final List<String> GRAPHS = List.of("vision_encoder", "embed_tokens", "decoder_model_merged");

    /**
     * Opens a model directory.
     *
     * @param directory the directory users have (with {@code onnx/} inside)
     * @param variant   which weights
     * @return the model's files and settings
     * @throws IOException naming what is wrong: an unsupported {@code model_type} (the supported ones listed), each
     *                     missing file, or a variant the directory lacks (with the variants it has)
     */
    public static QwenModelDirectory open(Path directory, OnnxVariant variant) throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new IOException("model directory not found: " + directory.toAbsolutePath());
        }
        QwenVlConfig config = QwenVlConfig.read(directory.resolve("config.json"));
        Path onnx = directory.resolve("onnx");
        List<String> missing = new ArrayList<>();
        List<Path> graphs = new ArrayList<>();
        for (String graph : GRAPHS) {
            Path file = onnx.resolve(variant.fileName(graph));
            graphs.add(file);
            if (!Files.isRegularFile(file)) {
                missing.add("onnx/" + file.getFileName());
            }
        }
        if (!missing.isEmpty() && missing.size() == GRAPHS.size()) {
            throw new IOException(directory.toAbsolutePath() + " has no " + variant + " weights (" + missing
                    + "); the variants it has: " + variantsPresent(onnx));
        }
        for (String name : List.of("tokenizer.json", "preprocessor_config.json", "generation_config.json")) {
            if (!Files.isRegularFile(directory.resolve(name))) {
                missing.add(name);
            }
        }
        Optional<Path> template = Stream.of("chat_template.json", "tokenizer_config.json").map(directory::resolve)
                .filter(Files::isRegularFile).findFirst();
        if (template.isEmpty()) {
            missing.add("chat_template.json or tokenizer_config.json");
        }
        if (!missing.isEmpty()) {
            throw new IOException(directory.toAbsolutePath() + " (" + config.modelType() + ", " + variant + ") lacks "
                    + String.join(", ", missing));
        }
        return new QwenModelDirectory(directory, config, variant, graphs.get(0), graphs.get(1), graphs.get(2),
                directory.resolve("tokenizer.json"), directory.resolve("preprocessor_config.json"),
                GenerationConfig.read(directory.resolve("generation_config.json")), template.get());
    }

    /** Every suffix found on the decoder files, known variants by name and others as written. */
    private static String variantsPresent(Path onnx) throws IOException {
        TreeSet<String> found = new TreeSet<>();
        if (Files.isDirectory(onnx)) {
            try (Stream<Path> files = Files.list(onnx)) {
                files.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith("decoder_model_merged") && n.endsWith(".onnx"))
                        .map(n -> n.substring("decoder_model_merged".length(), n.length() - ".onnx".length()))
                        .forEach(suffix -> found.add(Stream.of(OnnxVariant.values())
                                .filter(v -> v.suffix().equals(suffix)).map(Enum::name).findFirst()
                                .orElse("\"" + suffix + "\" (not supported)")));
            }
        }
        return found.isEmpty() ? "none (no onnx/decoder_model_merged*.onnx)" : String.join(", ", found);
    }
}
