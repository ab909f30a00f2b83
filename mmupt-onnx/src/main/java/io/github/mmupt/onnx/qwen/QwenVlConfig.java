package io.github.mmupt.onnx.qwen;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The parts of a Qwen2-VL / Qwen2.5-VL {@code config.json} the runtime needs: the family, the decoder's shape (for
 * the KV cache and the head), the special ids of the image layout and the vision merge. Newer exports nest the
 * text settings under {@code text_config}; both layouts are read.
 *
 * @param modelType          {@code qwen2_vl} or {@code qwen2_5_vl}
 * @param hiddenSize         the decoder width
 * @param numHiddenLayers    decoder layers
 * @param numAttentionHeads  query heads
 * @param numKeyValueHeads   key/value heads (GQA)
 * @param headDim            per-head width
 * @param vocabSize          logit rows (151,936 or 152,064: past the tokenizer's 151,665 ids)
 * @param tieWordEmbeddings  whether the LM head is the token embedding
 * @param visionStartTokenId {@code <|vision_start|>}
 * @param visionEndTokenId   {@code <|vision_end|>}
 * @param imageTokenId       {@code <|image_pad|>}
 * @param spatialMergeSize   vision patches merged per side
 * @param mropeSection       M-RoPE frequency split between T, H and W
 * @param maxPositionEmbeddings the longest sequence the decoder supports ({@code max_position_embeddings};
 *                           32,768, transformers' default, when the file leaves it out)
 */
public record QwenVlConfig(String modelType, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
        int numKeyValueHeads, int headDim, int vocabSize, boolean tieWordEmbeddings, int visionStartTokenId,
        int visionEndTokenId, int imageTokenId, int spatialMergeSize, List<Integer> mropeSection,
        int maxPositionEmbeddings) {

    /** transformers' {@code Qwen2VLConfig} default for {@code max_position_embeddings}. */
    public static final int DEFAULT_MAX_POSITIONS = 32768;

    /** The {@code model_type} values this family reads. */
    public static final List<String> SUPPORTED_TYPES = List.of("qwen2_vl", "qwen2_5_vl");

    /**
     * Checks the values.
     *
     * @param modelType the component {@code modelType}, described with the class
     * @param hiddenSize the component {@code hiddenSize}, described with the class
     * @param numHiddenLayers the component {@code numHiddenLayers}, described with the class
     * @param numAttentionHeads the component {@code numAttentionHeads}, described with the class
     * @param numKeyValueHeads the component {@code numKeyValueHeads}, described with the class
     * @param headDim the component {@code headDim}, described with the class
     * @param vocabSize the component {@code vocabSize}, described with the class
     * @param tieWordEmbeddings the component {@code tieWordEmbeddings}, described with the class
     * @param visionStartTokenId the component {@code visionStartTokenId}, described with the class
     * @param visionEndTokenId the component {@code visionEndTokenId}, described with the class
     * @param imageTokenId the component {@code imageTokenId}, described with the class
     * @param spatialMergeSize the component {@code spatialMergeSize}, described with the class
     * @param mropeSection the component {@code mropeSection}, described with the class
     * @param maxPositionEmbeddings the component {@code maxPositionEmbeddings}, described with the class
     */
    public QwenVlConfig {
        if (!SUPPORTED_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("model_type \"" + modelType + "\" is not supported; supported: "
                    + SUPPORTED_TYPES);
        }
        if (hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0 || numKeyValueHeads <= 0
                || headDim <= 0 || vocabSize <= 0 || spatialMergeSize <= 0 || maxPositionEmbeddings <= 0) {
            throw new IllegalArgumentException("sizes must be positive: hidden " + hiddenSize + ", layers "
                    + numHiddenLayers + ", heads " + numAttentionHeads + ", kv heads " + numKeyValueHeads
                    + ", head dim " + headDim + ", vocab " + vocabSize + ", merge " + spatialMergeSize
                    + ", max positions " + maxPositionEmbeddings);
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException(numAttentionHeads + " attention heads are not a multiple of "
                    + numKeyValueHeads + " key/value heads");
        }
        mropeSection = List.copyOf(mropeSection);
        if (mropeSection.size() != 3 || 2 * mropeSection.stream().mapToInt(Integer::intValue).sum() != headDim) {
            throw new IllegalArgumentException("mrope_section " + mropeSection + " must be 3 sizes summing to half "
                    + "the head dim " + headDim);
        }
    }

    /**
     * Reads {@code config.json}.
     *
     * @param file the file
     * @return the configuration
     * @throws IOException naming the file and the field: missing, not JSON, an unsupported {@code model_type} (the
     *                     supported ones listed) or a missing or inconsistent size
     */
    public static QwenVlConfig read(Path file) throws IOException {
        JsonNode root = ConfigFiles.readObject(file, "model config");
        String type = root.path("model_type").asText("");
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new IOException(file.toAbsolutePath() + ": model_type \"" + type + "\" is not supported; supported: "
                    + SUPPORTED_TYPES);
        }
        JsonNode text = root.path("text_config").isObject() ? root.path("text_config") : root;
        try {
            int hidden = required(text, root, "hidden_size");
            int heads = required(text, root, "num_attention_heads");
            JsonNode rope = text.path("rope_scaling").isObject() ? text.path("rope_scaling") : root.path("rope_scaling");
            List<Integer> section = new java.util.ArrayList<>();
            rope.path("mrope_section").forEach(n -> section.add(n.asInt()));
            JsonNode headDim = text.path("head_dim");
            return new QwenVlConfig(type, hidden, required(text, root, "num_hidden_layers"), heads,
                    required(text, root, "num_key_value_heads"), headDim.isIntegralNumber() ? headDim.asInt()
                            : hidden / heads, required(text, root, "vocab_size"),
                    root.path("tie_word_embeddings").asBoolean(text.path("tie_word_embeddings").asBoolean(false)),
                    required(root, root, "vision_start_token_id"), required(root, root, "vision_end_token_id"),
                    required(root, root, "image_token_id"),
                    root.path("vision_config").path("spatial_merge_size").asInt(2), section,
                    text.path("max_position_embeddings").asInt(root.path("max_position_embeddings")
                            .asInt(DEFAULT_MAX_POSITIONS)));
        } catch (IllegalArgumentException e) {
            throw new IOException(file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    private static int required(JsonNode first, JsonNode fallback, String field) {
        JsonNode n = first.path(field).isMissingNode() ? fallback.path(field) : first.path(field);
        if (!n.isIntegralNumber()) {
            throw new IllegalArgumentException("field " + field + " is " + (n.isMissingNode() ? "missing" : n)
                    + "; expected an integer");
        }
        return n.asInt();
    }
}
