package io.github.mmupt.onnx.qwen;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.mmupt.onnx.model.GraphBuilder;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates a random Qwen2-VL (or, by {@link QwenTinyConfig#modelType()}, Qwen2.5-VL: RMSNorm and SwiGLU in the
 * vision tower, {@code image_grid_thw}) model in the onnx-community / transformers.js contract, tiny in every
 * dimension but the vocabulary: {@code onnx/vision_encoder.onnx} (patch embedding, 2-D rotary attention blocks with
 * QuickGELU MLPs, the 2 x 2 patch merger), {@code onnx/embed_tokens.onnx}, {@code onnx/decoder_model_merged.onnx}
 * with its weights in {@code decoder_model_merged.onnx_data} (RMSNorm, GQA attention with M-RoPE and a KV cache,
 * SwiGLU, an untied LM head), and {@code config.json}, {@code preprocessor_config.json},
 * {@code generation_config.json}, {@code chat_template.json} (the official Qwen2-VL template) and the given
 * Qwen {@code tokenizer.json}. Standard ONNX ops only (opset 17).
 *
 * <p>Weights are drawn from {@link Random} seeded by (seed, tensor name), so the same seed gives the same files
 * on every JVM; initializers are named as in Hugging Face's checkpoints and stored {@code [in, out]} for MatMul.
 * The NumPy reference {@code src/test/scripts/qwen2vl_reference.py} restates the architecture from those
 * weights, independently of these graphs.
 *
 * <pre>{@code
 * QwenTinyBuilder.write(dir, QwenTinyConfig.defaults(), 7, qwenTokenizerJson);
 * ModelFamily family = QwenFamily.open(dir, OnnxVariant.FP32);
 * }</pre>
 */
public final class QwenTinyBuilder {

    /** The official Qwen2-VL-Instruct chat template (chat_template.json), for one user turn or a conversation. */
    public static final String CHAT_TEMPLATE = "{% set image_count = namespace(value=0) %}{% set video_count = "
            + "namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
            + "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}"
            + "\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in "
            + "message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
            + "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
            + "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] "
            + "== 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if "
            + "add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
            + "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
            + "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final TensorProto.DataType FLOAT = TensorProto.DataType.FLOAT;
    private static final TensorProto.DataType INT64 = TensorProto.DataType.INT64;

    private final QwenTinyConfig c;
    private final long seed;
    private int constants;

    private QwenTinyBuilder(QwenTinyConfig c, long seed) {
        this.c = c;
        this.seed = seed;
    }

    /**
     * Writes a model directory.
     *
     * @param dir the directory (created; files in it are replaced)
     * @param config the sizes
     * @param seed the weights' seed
     * @param tokenizerJson a Qwen2-VL {@code tokenizer.json} to copy in
     * @throws IOException when writing fails or the tokenizer is missing
     */
    public static void write(Path dir, QwenTinyConfig config, long seed, Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IOException("the Qwen tokenizer.json to copy is missing: " + tokenizerJson.toAbsolutePath());
        }
        Path onnx = dir.resolve("onnx");
        Files.createDirectories(onnx);
        QwenTinyBuilder b = new QwenTinyBuilder(config, seed);
        OnnxModel.of(b.vision(), "vision_encoder.onnx").write(onnx.resolve("vision_encoder.onnx"));
        OnnxModel.of(b.embed(), "embed_tokens.onnx").write(onnx.resolve("embed_tokens.onnx"));
        OnnxModel.of(b.decoder(), "decoder_model_merged.onnx").write(onnx.resolve("decoder_model_merged.onnx"),
                "decoder_model_merged.onnx_data");
        Files.copy(tokenizerJson, dir.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        json(dir.resolve("config.json"), b.config());
        ObjectNode gen = JSON.createObjectNode();
        gen.put("bos_token_id", 151643).put("pad_token_id", 151643);
        gen.putArray("eos_token_id").add(151645).add(151643);
        json(dir.resolve("generation_config.json"), gen);
        ObjectNode pre = JSON.createObjectNode();
        pre.put("image_processor_type", config.qwen25() ? "Qwen2_5_VLImageProcessor" : "Qwen2VLImageProcessor").put("min_pixels", config.minPixels())
                .put("max_pixels", config.maxPixels()).put("patch_size", QwenTinyConfig.PATCH)
                .put("temporal_patch_size", QwenTinyConfig.TEMPORAL_PATCH).put("merge_size", QwenTinyConfig.MERGE);
        pre.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
        pre.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
        json(dir.resolve("preprocessor_config.json"), pre);
        ObjectNode template = JSON.createObjectNode();
        template.put("chat_template", CHAT_TEMPLATE);
        json(dir.resolve("chat_template.json"), template);
    }

    private static void json(Path file, ObjectNode node) throws IOException {
        AtomicFiles.write(file, out -> JSON.writeValue(out, node));
    }

    private ObjectNode config() {
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add(c.qwen25() ? "Qwen2_5_VLForConditionalGeneration"
                : "Qwen2VLForConditionalGeneration");
        root.put("model_type", c.modelType()).put("hidden_size", c.hiddenSize())
                .put("intermediate_size", c.intermediateSize()).put("num_hidden_layers", c.layers())
                .put("num_attention_heads", c.heads()).put("num_key_value_heads", c.kvHeads())
                .put("vocab_size", c.vocabSize()).put("tie_word_embeddings", false)
                .put("rms_norm_eps", QwenTinyConfig.NORM_EPSILON).put("rope_theta", QwenTinyConfig.ROPE_THETA)
                .put("max_position_embeddings", c.maxPositions()).put("hidden_act", "silu")
                .put("vision_start_token_id", 151652).put("vision_end_token_id", 151653)
                .put("vision_token_id", 151654).put("image_token_id", 151655).put("video_token_id", 151656)
                .put("bos_token_id", 151643).put("eos_token_id", 151645);
        ObjectNode rope = root.putObject("rope_scaling");
        rope.put("type", "mrope");
        c.mropeSection().forEach(rope.putArray("mrope_section")::add);
        ObjectNode vision = root.putObject("vision_config").put("depth", c.visionDepth())
                .put("num_heads", c.visionHeads()).put("in_chans", 3).put("patch_size", QwenTinyConfig.PATCH)
                .put("spatial_merge_size", QwenTinyConfig.MERGE).put("temporal_patch_size", QwenTinyConfig.TEMPORAL_PATCH);
        if (c.qwen25()) {
            // Qwen2.5-VL names the vision width hidden_size and the text width out_hidden_size
            vision.put("hidden_size", c.visionEmbedDim()).put("out_hidden_size", c.hiddenSize())
                    .put("intermediate_size", c.visionEmbedDim() * c.visionMlpRatio()).put("hidden_act", "silu")
                    .put("window_size", 112);
            var full = vision.putArray("fullatt_block_indexes");
            for (int i = 0; i < c.visionDepth(); i++) {
                full.add(i); // every block attends the whole image: window attention (a reordering) never arises
            }
        } else {
            vision.put("embed_dim", c.visionEmbedDim()).put("hidden_size", c.hiddenSize())
                    .put("mlp_ratio", c.visionMlpRatio()).put("hidden_act", "quick_gelu");
        }
        return root;
    }

    // ------------------------------------------------------------------ weights

    private float[] gaussian(String name, int n, double std, double mean) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (mean + std * r.nextGaussian());
        }
        return v;
    }

    /** A MatMul weight [in, out], scaled so activations keep their size. */
    private String linear(GraphBuilder g, String name, int in, int out) {
        return g.initializer(name, new long[] {in, out}, gaussian(name, in * out, 0.7 / Math.sqrt(in), 0));
    }

    private String bias(GraphBuilder g, String name, int n) {
        return g.initializer(name, new long[] {n}, gaussian(name, n, 0.02, 0));
    }

    private String gain(GraphBuilder g, String name, int n) {
        return g.initializer(name, new long[] {n}, gaussian(name, n, 0.1, 1.0));
    }

    private String ints(GraphBuilder g, long... values) {
        return g.int64Initializer("c" + constants++, values);
    }

    private String scalar(GraphBuilder g, long value) {
        return g.int64Scalar("c" + constants++, value);
    }

    private String scalar(GraphBuilder g, float value) {
        return g.floatScalar("c" + constants++, value);
    }

    private static float[] invFreq(int dim, double theta) {
        float[] f = new float[dim / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (1.0 / Math.pow(theta, (2.0 * i) / dim));
        }
        return f;
    }

    // ------------------------------------------------------------------ shared pieces

    private String slice(GraphBuilder g, String x, long start, long end, long axis) {
        return g.node("Slice", x, ints(g, start), ints(g, end), ints(g, axis));
    }

    /** cat(-x2, x1) over the last axis of width {@code width}. */
    private String rotateHalf(GraphBuilder g, String x, int width) {
        String x1 = slice(g, x, 0, width / 2, -1);
        String x2 = slice(g, x, width / 2, width, -1);
        return g.node("Concat", List.of(g.node("Neg", x2), x1), Map.of("axis", -1L));
    }

    private String rotary(GraphBuilder g, String x, String cos, String sin, int width) {
        return g.node("Add", g.node("Mul", x, cos), g.node("Mul", rotateHalf(g, x, width), sin));
    }

    private String mean(GraphBuilder g, String x) {
        return g.node("ReduceMean", List.of(x), Map.of("axes", new long[] {-1}, "keepdims", 1L));
    }

    private String rmsNorm(GraphBuilder g, String x, String weight) {
        String rms = g.node("Sqrt", g.node("Add", mean(g, g.node("Mul", x, x)), scalar(g, QwenTinyConfig.NORM_EPSILON)));
        return g.node("Mul", g.node("Div", x, rms), weight);
    }

    private String layerNorm(GraphBuilder g, String x, String prefix, int n) {
        String centered = g.node("Sub", x, mean(g, x));
        String std = g.node("Sqrt", g.node("Add", mean(g, g.node("Mul", centered, centered)),
                scalar(g, QwenTinyConfig.NORM_EPSILON)));
        return g.node("Add", g.node("Mul", g.node("Div", centered, std), gain(g, prefix + ".weight", n)),
                bias(g, prefix + ".bias", n));
    }

    /** LayerNorm in Qwen2-VL's vision tower, RMSNorm (weight only) in Qwen2.5-VL's. */
    private String visionNorm(GraphBuilder g, String x, String prefix, int n) {
        return c.qwen25() ? rmsNorm(g, x, gain(g, prefix + ".weight", n)) : layerNorm(g, x, prefix, n);
    }

    private String dense(GraphBuilder g, String x, String prefix, int in, int out) {
        return g.node("Add", g.node("MatMul", x, linear(g, prefix + ".weight", in, out)), bias(g, prefix + ".bias", out));
    }

    // ------------------------------------------------------------------ the three graphs

    ModelProto vision() {
        GraphBuilder g = new GraphBuilder("qwen2_vl_vision");
        int e = c.visionEmbedDim();
        int hd = e / c.visionHeads();
        int patchDim = 3 * QwenTinyConfig.TEMPORAL_PATCH * QwenTinyConfig.PATCH * QwenTinyConfig.PATCH;
        int m = QwenTinyConfig.MERGE;
        String pixels = g.input("pixel_values", FLOAT, "patches", (long) patchDim);
        String grid = g.input(c.qwen25() ? "image_grid_thw" : "grid_thw", INT64, "images", 3L);
        String x = g.node("MatMul", pixels, linear(g, "visual.patch_embed.proj.weight", patchDim, e));

        // 2-D rotary: each patch's (row, column) in the merge order the processor used, times the frequencies
        String thw = g.node("Gather", List.of(grid, scalar(g, 0L)), Map.of("axis", 0L));
        String t = g.node("Gather", thw, scalar(g, 0L));
        String h = g.node("Gather", thw, scalar(g, 1L));
        String w = g.node("Gather", thw, scalar(g, 2L));
        String hw = g.node("Concat", List.of(g.node("Unsqueeze", h, ints(g, 0)), g.node("Unsqueeze", w, ints(g, 0))),
                Map.of("axis", 0L));
        String groups = g.node("Concat", List.of(g.node("Unsqueeze", g.node("Div", h, scalar(g, (long) m)), ints(g, 0)),
                ints(g, m), g.node("Unsqueeze", g.node("Div", w, scalar(g, (long) m)), ints(g, 0)), ints(g, m)),
                Map.of("axis", 0L));
        String rows = g.node("Expand", g.node("Unsqueeze", g.node("Range", scalar(g, 0L), h, scalar(g, 1L)), ints(g, 1)), hw);
        String cols = g.node("Expand", g.node("Unsqueeze", g.node("Range", scalar(g, 0L), w, scalar(g, 1L)), ints(g, 0)), hw);
        String freqs = g.initializer("visual.rotary.inv_freq", new long[] {hd / 4},
                invFreq(hd / 2, QwenTinyConfig.VISION_ROPE_THETA));
        List<String> parts = new ArrayList<>();
        for (String pos : List.of(rows, cols)) {
            String ordered = g.node("Reshape", g.node("Transpose", List.of(g.node("Reshape", pos, groups)),
                    Map.of("perm", new long[] {0, 2, 1, 3})), ints(g, -1));
            String frames = g.node("Tile", ordered, g.node("Unsqueeze", t, ints(g, 0)));
            String f = g.node("Cast", List.of(frames), Map.of("to", (long) TensorProto.DataType.FLOAT_VALUE));
            parts.add(g.node("Mul", g.node("Unsqueeze", f, ints(g, 1)), freqs));
        }
        String half = g.node("Concat", parts, Map.of("axis", 1L));
        String emb = g.node("Concat", List.of(half, half), Map.of("axis", 1L));
        String cos = g.node("Unsqueeze", g.node("Cos", emb), ints(g, 1));
        String sin = g.node("Unsqueeze", g.node("Sin", emb), ints(g, 1));
        String scale = scalar(g, (float) (1.0 / Math.sqrt(hd)));
        for (int i = 0; i < c.visionDepth(); i++) {
            String p = "visual.blocks." + i;
            String qkv = g.node("Reshape", dense(g, visionNorm(g, x, p + ".norm1", e), p + ".attn.qkv", e, 3 * e),
                    ints(g, -1, 3, c.visionHeads(), hd));
            String[] qkvParts = new String[3];
            for (int k = 0; k < 3; k++) {
                qkvParts[k] = g.node("Gather", List.of(qkv, scalar(g, (long) k)), Map.of("axis", 1L));
            }
            String q = g.node("Transpose", List.of(rotary(g, qkvParts[0], cos, sin, hd)), Map.of("perm", new long[] {1, 0, 2}));
            String k = g.node("Transpose", List.of(rotary(g, qkvParts[1], cos, sin, hd)), Map.of("perm", new long[] {1, 2, 0}));
            String v = g.node("Transpose", List.of(qkvParts[2]), Map.of("perm", new long[] {1, 0, 2}));
            String probs = g.node("Softmax", List.of(g.node("Mul", g.node("MatMul", q, k), scale)), Map.of("axis", -1L));
            String context = g.node("Reshape", g.node("Transpose", List.of(g.node("MatMul", probs, v)),
                    Map.of("perm", new long[] {1, 0, 2})), ints(g, -1, e));
            x = g.node("Add", x, dense(g, context, p + ".attn.proj", e, e));
            String n2 = visionNorm(g, x, p + ".norm2", e);
            int inner = e * c.visionMlpRatio();
            if (c.qwen25()) {
                // SwiGLU with biases: down(silu(gate(x)) * up(x))
                String gate = dense(g, n2, p + ".mlp.gate_proj", e, inner);
                String act = g.node("Mul", g.node("Mul", gate, g.node("Sigmoid", gate)), dense(g, n2, p + ".mlp.up_proj", e, inner));
                x = g.node("Add", x, dense(g, act, p + ".mlp.down_proj", inner, e));
            } else {
                String up = dense(g, n2, p + ".mlp.fc1", e, inner);
                String act = g.node("Mul", up, g.node("Sigmoid", g.node("Mul", up, scalar(g, 1.702f)))); // QuickGELU
                x = g.node("Add", x, dense(g, act, p + ".mlp.fc2", inner, e));
            }
        }
        int merged = e * m * m;
        String y = g.node("Reshape", visionNorm(g, x, "visual.merger.ln_q", e), ints(g, -1, merged));
        y = dense(g, y, "visual.merger.mlp.0", merged, merged);
        String gelu = g.node("Mul", g.node("Mul", y, scalar(g, 0.5f)), g.node("Add", scalar(g, 1f),
                g.node("Erf", g.node("Div", y, scalar(g, (float) Math.sqrt(2))))));
        y = dense(g, gelu, "visual.merger.mlp.2", merged, c.hiddenSize());
        g.output(g.identity(y, "image_features"), FLOAT, "image_tokens", (long) c.hiddenSize());
        return g.build();
    }

    ModelProto embed() {
        GraphBuilder g = new GraphBuilder("qwen2_vl_embed_tokens");
        String ids = g.input("input_ids", INT64, "batch", "sequence");
        String table = g.initializer("model.embed_tokens.weight", new long[] {c.vocabSize(), c.hiddenSize()},
                gaussian("model.embed_tokens.weight", c.vocabSize() * c.hiddenSize(), 1.0, 0));
        g.output(g.identity(g.node("Gather", table, ids), "inputs_embeds"), FLOAT, "batch", "sequence",
                (long) c.hiddenSize());
        return g.build();
    }

    ModelProto decoder() {
        GraphBuilder g = new GraphBuilder("qwen2_vl_decoder");
        int d = c.hiddenSize();
        int hd = c.headDim();
        long heads = c.heads();
        long kv = c.kvHeads();
        String embeds = g.input("inputs_embeds", FLOAT, "batch", "sequence", (long) d);
        String mask = g.input("attention_mask", INT64, "batch", "total");
        String positions = g.input("position_ids", INT64, 3L, "batch", "sequence");
        String[] pastK = new String[c.layers()];
        String[] pastV = new String[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            pastK[i] = g.input("past_key_values." + i + ".key", FLOAT, "batch", kv, "past", (long) hd);
            pastV[i] = g.input("past_key_values." + i + ".value", FLOAT, "batch", kv, "past", (long) hd);
        }
        // M-RoPE: frequencies per axis [3, B, S, hd], then each section of the head width from its axis
        String pos = g.node("Cast", List.of(positions), Map.of("to", (long) TensorProto.DataType.FLOAT_VALUE));
        String inv = g.initializer("model.rotary.inv_freq", new long[] {hd / 2}, invFreq(hd, QwenTinyConfig.ROPE_THETA));
        String freqs = g.node("Mul", g.node("Unsqueeze", pos, ints(g, 3)), inv);
        String emb = g.node("Concat", List.of(freqs, freqs), Map.of("axis", -1L));
        String[] trig = new String[2];
        String[] fns = {"Cos", "Sin"};
        for (int f = 0; f < 2; f++) {
            String all = g.node(fns[f], emb);
            List<String> chunks = new ArrayList<>();
            long start = 0;
            for (int i = 0; i < 6; i++) {
                long len = c.mropeSection().get(i % 3);
                int axis = i % 3;
                chunks.add(g.node("Slice", all, ints(g, axis, start), ints(g, axis + 1, start + len), ints(g, 0, 3)));
                start += len;
            }
            trig[f] = g.node("Transpose", List.of(g.node("Concat", chunks, Map.of("axis", 3L))),
                    Map.of("perm", new long[] {1, 0, 2, 3}));
        }
        // bias [B, 1, S, past + S]: 0 where a query may attend a key (causal, not padding), a large negative elsewhere
        String zero = scalar(g, 0L);
        String one = scalar(g, 1L);
        String pastLen = g.node("Gather", g.node("Shape", pastK[0]), scalar(g, 2L));
        String total = g.node("Add", pastLen, g.node("Gather", g.node("Shape", embeds), one));
        String causal = g.node("LessOrEqual", g.node("Unsqueeze", g.node("Range", zero, total, one), ints(g, 0)),
                g.node("Unsqueeze", g.node("Range", pastLen, total, one), ints(g, 1)));
        String padding = g.node("Unsqueeze", g.node("Cast", List.of(mask), Map.of("to", (long) TensorProto.DataType.BOOL_VALUE)),
                ints(g, 1, 2));
        String bias = g.node("Where", g.node("And", causal, padding), scalar(g, 0f), scalar(g, -1e9f));
        String scale = scalar(g, (float) (1.0 / Math.sqrt(hd)));
        String repeat = ints(g, 1, 1, heads / kv, 1, 1);
        String x = embeds;
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i;
            String n = rmsNorm(g, x, gain(g, p + ".input_layernorm.weight", d));
            String q = heads(g, dense(g, n, p + ".self_attn.q_proj", d, (int) heads * hd), heads, hd);
            String k = heads(g, dense(g, n, p + ".self_attn.k_proj", d, (int) kv * hd), kv, hd);
            String v = heads(g, dense(g, n, p + ".self_attn.v_proj", d, (int) kv * hd), kv, hd);
            q = rotary(g, q, trig[0], trig[1], hd);
            k = rotary(g, k, trig[0], trig[1], hd);
            String kAll = g.node("Concat", List.of(pastK[i], k), Map.of("axis", 2L));
            String vAll = g.node("Concat", List.of(pastV[i], v), Map.of("axis", 2L));
            g.output(g.identity(kAll, "present." + i + ".key"), FLOAT, "batch", kv, "total", (long) hd);
            g.output(g.identity(vAll, "present." + i + ".value"), FLOAT, "batch", kv, "total", (long) hd);
            String kRep = g.node("Reshape", g.node("Expand", g.node("Unsqueeze", kAll, ints(g, 2)), repeat),
                    ints(g, 0, heads, -1, hd));
            String vRep = g.node("Reshape", g.node("Expand", g.node("Unsqueeze", vAll, ints(g, 2)), repeat),
                    ints(g, 0, heads, -1, hd));
            String scores = g.node("Add", g.node("Mul", g.node("MatMul", q,
                    g.node("Transpose", List.of(kRep), Map.of("perm", new long[] {0, 1, 3, 2}))), scale), bias);
            String probs = g.node("Softmax", List.of(scores), Map.of("axis", -1L));
            String context = g.node("Reshape", g.node("Transpose", List.of(g.node("MatMul", probs, vRep)),
                    Map.of("perm", new long[] {0, 2, 1, 3})), ints(g, 0, 0, heads * hd));
            x = g.node("Add", x, g.node("MatMul", context, linear(g, p + ".self_attn.o_proj.weight", (int) heads * hd, d)));
            String n2 = rmsNorm(g, x, gain(g, p + ".post_attention_layernorm.weight", d));
            String gate = g.node("MatMul", n2, linear(g, p + ".mlp.gate_proj.weight", d, c.intermediateSize()));
            String up = g.node("MatMul", n2, linear(g, p + ".mlp.up_proj.weight", d, c.intermediateSize()));
            String act = g.node("Mul", g.node("Mul", gate, g.node("Sigmoid", gate)), up);
            x = g.node("Add", x, g.node("MatMul", act, linear(g, p + ".mlp.down_proj.weight", c.intermediateSize(), d)));
        }
        String hidden = rmsNorm(g, x, gain(g, "model.norm.weight", d));
        String logits = g.node("MatMul", hidden, linear(g, "lm_head.weight", d, c.vocabSize()));
        g.output(g.identity(logits, "logits"), FLOAT, "batch", "sequence", (long) c.vocabSize());
        return g.build();
    }

    /** [B, S, n * hd] to [B, n, S, hd]. */
    private String heads(GraphBuilder g, String x, long n, int hd) {
        return g.node("Transpose", List.of(g.node("Reshape", x, ints(g, 0, 0, n, hd))),
                Map.of("perm", new long[] {0, 2, 1, 3}));
    }
}
