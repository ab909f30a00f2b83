package io.github.mmupt.onnx.tokenizer;

/**
 * A token of a {@code tokenizer.json}'s {@code added_tokens}: matched verbatim in the text before any
 * normalisation or splitting. Special ones ({@code <|im_start|>}, {@code <|image_pad|>}) are control tokens: only
 * {@link ByteLevelBpeTokenizer#encodeWithSpecialTokens} parses them and decoding leaves them out; the others
 * ({@code <tool_call>} in Qwen) are ordinary words that happen to be written whole.
 *
 * @param id      its token id
 * @param content its text
 * @param special whether it is a control token
 */
public record AddedToken(int id, String content, boolean special) {

    /**
     * Checks the fields.
     *
     * @param id the component {@code id}, described with the class
     * @param content the component {@code content}, described with the class
     * @param special the component {@code special}, described with the class
     */
    public AddedToken {
        if (id < 0) {
            throw new IllegalArgumentException("added token id must be >= 0, was " + id);
        }
        if (content == null || content.isEmpty()) {
            throw new IllegalArgumentException("added token " + id + " has no content");
        }
    }
}
