package io.github.mmupt.policy;

import com.google.common.primitives.ImmutableIntArray;

/**
 * Text to token ids and back, for one model's vocabulary. A seam: real model families bring their own (byte
 * level BPE for Qwen), the tiny test model a word-level vocabulary.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface Tokenizer {

    /** {@return number of token ids (V)} */
    int vocabSize();

    /**
     * Token ids of plain text; special-token strings in {@code text} are not parsed as special tokens.
     *
     * @param text the text
     * @return its token ids
     */
    ImmutableIntArray encode(String text);

    /**
     * The text of token ids, special tokens (end of sequence, padding, image slots) left out.
     *
     * @param ids token ids
     * @return the text, special tokens left out
     */
    String decode(ImmutableIntArray ids);
}
