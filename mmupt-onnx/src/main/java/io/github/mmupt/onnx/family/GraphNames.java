package io.github.mmupt.onnx.family;

import java.util.regex.Pattern;

/**
 * The input and output names of a model's three graphs, which families share the shape of but not always the
 * spelling. Past and present names contain {@code %d} for the layer.
 *
 * <pre>{@code
 * GraphNames names = GraphNames.standard();
 * String layer3 = names.pastKey(3); // "past_key_values.3.key"
 * }</pre>
 *
 * @param pixelValues   the vision graph's image input
 * @param imageFeatures the vision graph's output (one row per image token)
 * @param inputIds      the embedding graph's input
 * @param inputsEmbeds  the embedding graph's output and the decoder's input
 * @param attentionMask the decoder's mask over past and new positions
 * @param positionIds   the decoder's positions ([B, S], or [3, B, S] for M-RoPE)
 * @param pastKey       the decoder's past keys, with {@code %d} for the layer
 * @param pastValue     the decoder's past values, with {@code %d}
 * @param presentKey    the decoder's new keys, with {@code %d}
 * @param presentValue  the decoder's new values, with {@code %d}
 * @param logits        the decoder's logits, which head surgery replaces by the final hidden state
 */
public record GraphNames(String pixelValues, String imageFeatures, String inputIds, String inputsEmbeds,
        String attentionMask, String positionIds, String pastKey, String pastValue, String presentKey,
        String presentValue, String logits) {

    /** {@code %d} once, and no other format conversion, in a per-layer name pattern. */
    private static final Pattern LAYER_PATTERN = Pattern.compile("[^%]*%d[^%]*");

    /**
     * Checks that every name is present and that the per-layer ones hold {@code %d} exactly once.
     *
     * @param pixelValues the component {@code pixelValues}, described with the class
     * @param imageFeatures the component {@code imageFeatures}, described with the class
     * @param inputIds the component {@code inputIds}, described with the class
     * @param inputsEmbeds the component {@code inputsEmbeds}, described with the class
     * @param attentionMask the component {@code attentionMask}, described with the class
     * @param positionIds the component {@code positionIds}, described with the class
     * @param pastKey the component {@code pastKey}, described with the class
     * @param pastValue the component {@code pastValue}, described with the class
     * @param presentKey the component {@code presentKey}, described with the class
     * @param presentValue the component {@code presentValue}, described with the class
     * @param logits the component {@code logits}, described with the class
     */
    public GraphNames {
        String[] values = {pixelValues, imageFeatures, inputIds, inputsEmbeds, attentionMask, positionIds, pastKey,
            pastValue, presentKey, presentValue, logits};
        String[] names = {"pixelValues", "imageFeatures", "inputIds", "inputsEmbeds", "attentionMask",
            "positionIds", "pastKey", "pastValue", "presentKey", "presentValue", "logits"};
        for (int i = 0; i < values.length; i++) {
            if (values[i] == null || values[i].isBlank()) {
                throw new IllegalArgumentException("graph name " + names[i] + " is missing");
            }
            if (i >= 6 && i <= 9 && !LAYER_PATTERN.matcher(values[i]).matches()) {
                throw new IllegalArgumentException("graph name " + names[i] + " must contain %d exactly once (the "
                        + "layer) and no other %, got '" + values[i] + "'");
            }
        }
    }

    /**
     * The names optimum / transformers.js exports use, and the tiny model too.
     *
     * @return the standard names
     */
    public static GraphNames standard() {
        return new GraphNames("pixel_values", "image_features", "input_ids", "inputs_embeds", "attention_mask",
                "position_ids", "past_key_values.%d.key", "past_key_values.%d.value", "present.%d.key",
                "present.%d.value", "logits");
    }

    /**
     * The past-key input of one layer.
     *
     * @param layer the layer, from 0
     * @return its name
     */
    public String pastKey(int layer) {
        return String.format(pastKey, layer);
    }

    /**
     * The past-value input of one layer.
     *
     * @param layer the layer, from 0
     * @return its name
     */
    public String pastValue(int layer) {
        return String.format(pastValue, layer);
    }

    /**
     * The present-key output of one layer.
     *
     * @param layer the layer, from 0
     * @return its name
     */
    public String presentKey(int layer) {
        return String.format(presentKey, layer);
    }

    /**
     * The present-value output of one layer.
     *
     * @param layer the layer, from 0
     * @return its name
     */
    public String presentValue(int layer) {
        return String.format(presentValue, layer);
    }
}
