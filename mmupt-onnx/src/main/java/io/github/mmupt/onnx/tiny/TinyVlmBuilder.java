package io.github.mmupt.onnx.tiny;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.github.mmupt.onnx.family.GraphNames;
import io.github.mmupt.onnx.model.FloatTensor;
import io.github.mmupt.onnx.model.GraphBuilder;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Generates a tiny vision-language model as three ONNX graphs in the I/O contract of real exports
 * (optimum / onnxruntime-genai style), plus its tokenizer and manifest:
 *
 * <ul>
 *   <li>{@code vision.onnx}: {@code pixel_values [1, 3, S, S]} to {@code image_features [1, P, d]}: a patch
 *       convolution, ReLU and a projection; one row per patch.</li>
 *   <li>{@code embed.onnx}: {@code input_ids [batch, seq]} to {@code inputs_embeds [batch, seq, d]}.</li>
 *   <li>{@code decoder.onnx}: {@code inputs_embeds}, {@code attention_mask [batch, past + seq]},
 *       {@code position_ids [batch, seq]} and {@code past_key_values.{i}.key/value [batch, h, past, hd]} to
 *       {@code logits [batch, seq, V]} and {@code present.{i}.key/value [batch, h, past + seq, hd]}: learned
 *       positions, pre-norm blocks (RMSNorm, causal multi-head attention with the cache, ReLU MLP), a final
 *       RMSNorm and the LM head MatMul.</li>
 * </ul>
 * Everything is determined by the config and the weights, so the same seed regenerates the same files; the
 * model is a few hundred kilobytes at the test sizes. Image features are placed at the image-token positions
 * by the caller (as onnxruntime-genai does), not inside the graphs.
 *
 * <pre>{@code
 * TinyVlmConfig config = TinyVlmConfig.small(tokenizer.vocabSize());
 * TinyVlmBuilder.write(dir, config, TinyVlmWeights.random(config, 42), tokenizer);
 * }</pre>
 */
public final class TinyVlmBuilder {

    private static final float NORM_EPSILON = 1e-6f;
    private static final float MASKED = -1e9f;

    private TinyVlmBuilder() {
    }

    /**
     * Writes the three graphs, the tokenizer and the manifest into {@code dir}.
     *
     * @param dir the directory to write
     * @param config the dimensions
     * @param weights the weights
     * @param tokenizer the vocabulary
     * @return the manifest written
     * @throws IOException when writing fails
     */
    public static ModelManifest write(Path dir, TinyVlmConfig config, TinyVlmWeights weights, VocabularyTokenizer tokenizer)
            throws IOException {
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " tokens but the model "
                    + "config says V = " + config.vocabSize());
        }
        if (!weights.config().equals(config)) {
            throw new IllegalArgumentException("the weights were made for " + weights.config() + ", not " + config);
        }
        OnnxModel.of(vision(config, weights), "vision.onnx").write(dir.resolve("vision.onnx"));
        OnnxModel.of(embed(config, weights), "embed.onnx").write(dir.resolve("embed.onnx"));
        OnnxModel.of(decoder(config, weights), "decoder.onnx").write(dir.resolve("decoder.onnx"));
        tokenizer.write(dir.resolve("tokenizer.json"));
        ModelManifest manifest = new ModelManifest(ModelManifest.FORMAT, config.hiddenSize(), config.vocabSize(),
                config.layers(), config.heads(), config.headDim(), config.imageSize(), config.imageTokens(),
                config.maxPositions(), List.of(0.5, 0.5, 0.5), List.of(0.5, 0.5, 0.5),
                new ModelManifest.FileNames("vision.onnx", "embed.onnx", "decoder.onnx", "tokenizer.json"),
                GraphNames.standard(),
                new ModelManifest.SpecialTokens(tokenizer.id(VocabularyTokenizer.PAD), tokenizer.id(VocabularyTokenizer.BOS),
                        tokenizer.id(VocabularyTokenizer.EOS), tokenizer.id(VocabularyTokenizer.IMAGE),
                        tokenizer.id(VocabularyTokenizer.ANSWER)));
        manifest.write(dir);
        return manifest;
    }

    static ModelProto vision(TinyVlmConfig c, TinyVlmWeights w) {
        GraphBuilder g = new GraphBuilder("tiny_vision");
        long d = c.hiddenSize();
        long patches = c.imageTokens();
        String pixels = g.input("pixel_values", TensorProto.DataType.FLOAT, 1L, 3L, (long) c.imageSize(), (long) c.imageSize());
        String conv = g.node("Conv", List.of(pixels, init(g, w, "vision.conv.weight"), init(g, w, "vision.conv.bias")),
                Map.of("kernel_shape", new long[] {c.patchSize(), c.patchSize()},
                        "strides", new long[] {c.patchSize(), c.patchSize()}));
        String act = g.node("Relu", conv);
        String flat = g.node("Reshape", act, g.int64Initializer("vision_flat_shape", 1, d, patches));
        String rows = g.node("Transpose", List.of(flat), Map.of("perm", new long[] {0, 2, 1}));
        String proj = g.node("Add", g.node("MatMul", rows, init(g, w, "vision.proj.weight")), init(g, w, "vision.proj.bias"));
        g.output(g.identity(proj, "image_features"), TensorProto.DataType.FLOAT, 1L, patches, d);
        return g.build();
    }

    static ModelProto embed(TinyVlmConfig c, TinyVlmWeights w) {
        GraphBuilder g = new GraphBuilder("tiny_embed");
        String ids = g.input("input_ids", TensorProto.DataType.INT64, "batch", "sequence");
        String out = g.node("Gather", init(g, w, "embed.weight"), ids);
        g.output(g.identity(out, "inputs_embeds"), TensorProto.DataType.FLOAT, "batch", "sequence", (long) c.hiddenSize());
        return g.build();
    }

    static ModelProto decoder(TinyVlmConfig c, TinyVlmWeights w) {
        GraphBuilder g = new GraphBuilder("tiny_decoder");
        long d = c.hiddenSize();
        long h = c.heads();
        long hd = c.headDim();
        String embeds = g.input("inputs_embeds", TensorProto.DataType.FLOAT, "batch", "sequence", d);
        String mask = g.input("attention_mask", TensorProto.DataType.INT64, "batch", "total");
        String positions = g.input("position_ids", TensorProto.DataType.INT64, "batch", "sequence");
        String[] pastK = new String[c.layers()];
        String[] pastV = new String[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            pastK[i] = g.input("past_key_values." + i + ".key", TensorProto.DataType.FLOAT, "batch", h, "past", hd);
            pastV[i] = g.input("past_key_values." + i + ".value", TensorProto.DataType.FLOAT, "batch", h, "past", hd);
        }
        String x = g.node("Add", embeds, g.node("Gather", init(g, w, "decoder.positions"), positions));

        // bias [batch, 1, seq, past + seq]: 0 where a query may attend a key (causal, and not padding), -1e9 elsewhere
        String zero = g.int64Scalar("c_zero", 0);
        String one = g.int64Scalar("c_one", 1);
        String pastLen = g.node("Gather", g.node("Shape", pastK[0]), g.int64Scalar("c_axis2", 2));
        String seqLen = g.node("Gather", g.node("Shape", embeds), one);
        String total = g.node("Add", pastLen, seqLen);
        String queryIdx = g.node("Range", pastLen, total, one);
        String keyIdx = g.node("Range", zero, total, one);
        String causal = g.node("LessOrEqual", g.node("Unsqueeze", keyIdx, g.int64Initializer("c_axes0", 0)),
                g.node("Unsqueeze", queryIdx, g.int64Initializer("c_axes1", 1)));
        String padding = g.node("Unsqueeze", g.node("Cast", List.of(mask), Map.of("to", (long) TensorProto.DataType.BOOL_VALUE)),
                g.int64Initializer("c_axes12", 1, 2));
        String allowed = g.node("And", causal, padding);
        String bias = g.node("Where", allowed, g.floatScalar("c_open", 0f), g.floatScalar("c_masked", MASKED));

        String headsShape = g.int64Initializer("c_heads_shape", 0, 0, h, hd);
        String mergedShape = g.int64Initializer("c_merged_shape", 0, 0, h * hd);
        String scale = g.floatScalar("c_scale", (float) (1.0 / Math.sqrt(hd)));
        String eps = g.floatScalar("c_eps", NORM_EPSILON);
        for (int i = 0; i < c.layers(); i++) {
            String p = "layers." + i + ".";
            String normed = rmsNorm(g, x, init(g, w, p + "norm1"), eps);
            String q = heads(g, g.node("MatMul", normed, init(g, w, p + "q")), headsShape);
            String k = heads(g, g.node("MatMul", normed, init(g, w, p + "k")), headsShape);
            String v = heads(g, g.node("MatMul", normed, init(g, w, p + "v")), headsShape);
            String kAll = g.node("Concat", List.of(pastK[i], k), Map.of("axis", 2L));
            String vAll = g.node("Concat", List.of(pastV[i], v), Map.of("axis", 2L));
            g.output(g.identity(kAll, "present." + i + ".key"), TensorProto.DataType.FLOAT, "batch", h, "total", hd);
            g.output(g.identity(vAll, "present." + i + ".value"), TensorProto.DataType.FLOAT, "batch", h, "total", hd);
            String kT = g.node("Transpose", List.of(kAll), Map.of("perm", new long[] {0, 1, 3, 2}));
            String scores = g.node("Add", g.node("Mul", g.node("MatMul", q, kT), scale), bias);
            String probs = g.node("Softmax", List.of(scores), Map.of("axis", -1L));
            String context = g.node("MatMul", probs, vAll);
            String merged = g.node("Reshape", g.node("Transpose", List.of(context), Map.of("perm", new long[] {0, 2, 1, 3})),
                    mergedShape);
            x = g.node("Add", x, g.node("MatMul", merged, init(g, w, p + "o")));
            String normed2 = rmsNorm(g, x, init(g, w, p + "norm2"), eps);
            String up = g.node("Relu", g.node("MatMul", normed2, init(g, w, p + "up")));
            x = g.node("Add", x, g.node("MatMul", up, init(g, w, p + "down")));
        }
        String hidden = rmsNorm(g, x, init(g, w, "norm.final"), eps);
        String logits = g.node("MatMul", hidden, init(g, w, "lm_head"));
        g.output(g.identity(logits, "logits"), TensorProto.DataType.FLOAT, "batch", "sequence", (long) c.vocabSize());
        return g.build();
    }

    /** x / sqrt(mean(x^2) + eps) * gain, over the last axis. */
    private static String rmsNorm(GraphBuilder g, String x, String gain, String eps) {
        String meanSquare = g.node("ReduceMean", List.of(g.node("Mul", x, x)), Map.of("axes", new long[] {-1}, "keepdims", 1L));
        String rms = g.node("Sqrt", g.node("Add", meanSquare, eps));
        return g.node("Mul", g.node("Div", x, rms), gain);
    }

    /** [batch, seq, h * hd] to [batch, h, seq, hd]. */
    private static String heads(GraphBuilder g, String x, String headsShape) {
        return g.node("Transpose", List.of(g.node("Reshape", x, headsShape)), Map.of("perm", new long[] {0, 2, 1, 3}));
    }

    private static String init(GraphBuilder g, TinyVlmWeights w, String name) {
        FloatTensor t = w.get(name);
        return g.initializer(name, t.dims(), t.values());
    }
}
