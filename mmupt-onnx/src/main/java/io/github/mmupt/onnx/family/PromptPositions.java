package io.github.mmupt.onnx.family;

import com.google.common.primitives.ImmutableLongArray;

/**
 * The decoder's position ids for one prompt, per rotary axis, and where later tokens continue: a 1-D family
 * numbers positions 0, 1, 2, ... on one axis; Qwen's M-RoPE gives each prompt position a (time, height, width)
 * triple on three axes, after which every generated token at sequence index {@code i} sits at {@code i + delta}
 * on all three axes (the "rope delta", negative when images compress positions).
 *
 * <pre>{@code
 * PromptPositions p = PromptPositions.sequential(5);   // one axis, 0..4, delta 0
 * long next = p.positionOf(5);                         // 5
 * }</pre>
 *
 * @param axes   the rotary axes: 1, or 3 for M-RoPE
 * @param values [axes x length] positions, axis-major
 * @param delta  the offset of a token's position from its sequence index after the prompt
 */
public record PromptPositions(int axes, ImmutableLongArray values, long delta) {

    /**
     * Checks that the values fill whole axes.
     *
     * @param axes the component {@code axes}, described with the class
     * @param values the component {@code values}, described with the class
     * @param delta the component {@code delta}, described with the class
     */
    public PromptPositions {
        if (axes < 1 || values == null || values.length() % axes != 0) {
            throw new IllegalArgumentException("positions need at least one axis and " + axes + " equal rows, got "
                    + (values == null ? "none" : values.length() + " values"));
        }
    }

    /**
     * 0, 1, ..., length - 1 on one axis, continuing with the sequence index.
     *
     * @param length the prompt's tokens
     * @return the positions
     */
    public static PromptPositions sequential(int length) {
        long[] v = new long[length];
        for (int i = 0; i < length; i++) {
            v[i] = i;
        }
        return new PromptPositions(1, ImmutableLongArray.copyOf(v), 0);
    }

    /** {@return the prompt's tokens} */
    public int length() {
        return values.length() / axes;
    }

    /**
     * One prompt position on one axis.
     *
     * @param axis the axis, from 0
     * @param index the prompt token, from 0
     * @return its position
     */
    public long at(int axis, int index) {
        return values.get(axis * length() + index);
    }

    /**
     * The position, on every axis, of the token at sequence index {@code index} after the prompt.
     *
     * @param index the sequence index, at least {@link #length()}
     * @return {@code index + delta}
     */
    public long positionOf(int index) {
        return index + delta;
    }
}
