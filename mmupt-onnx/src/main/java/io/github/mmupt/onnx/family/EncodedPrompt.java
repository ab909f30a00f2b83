package io.github.mmupt.onnx.family;

import com.google.common.primitives.ImmutableIntArray;
import java.util.List;

/**
 * A prompt as its family lays it out for the trunk: the token ids (image tokens included), where each image's
 * features go, and the decoder's positions for every prompt token.
 *
 * <pre>{@code
 * EncodedPrompt e = family.encode(prompt);
 * int promptTokens = e.ids().length();
 * }</pre>
 *
 * @param ids       the prompt's token ids, ending where generation begins
 * @param images    the image slots, in prompt order
 * @param positions the positions of the prompt's tokens and of the tokens after them
 */
public record EncodedPrompt(ImmutableIntArray ids, List<ImageSlot> images, PromptPositions positions) {

    /**
     * Checks that positions and slots fit the ids.
     *
     * @param ids the component {@code ids}, described with the class
     * @param images the component {@code images}, described with the class
     * @param positions the component {@code positions}, described with the class
     */
    public EncodedPrompt {
        images = List.copyOf(images);
        if (positions.length() != ids.length()) {
            throw new IllegalArgumentException("positions for " + positions.length() + " tokens given for a prompt of "
                    + ids.length());
        }
        for (ImageSlot slot : images) {
            if (slot.start() + slot.feed().rows() > ids.length()) {
                throw new IllegalArgumentException("an image slot at " + slot.start() + " with " + slot.feed().rows()
                        + " rows runs past the prompt's " + ids.length() + " tokens");
            }
        }
    }
}
