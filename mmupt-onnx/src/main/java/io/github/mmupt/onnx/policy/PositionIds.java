package io.github.mmupt.onnx.policy;

import io.github.mmupt.onnx.family.PromptPositions;
import java.nio.LongBuffer;
import java.util.List;

/**
 * The decoder's {@code position_ids} laid out as the graph takes them: {@code [B, S]} for one axis,
 * {@code [axes, B, S]} for M-RoPE, axis-major, in slots of the caller's {@link ScratchBuffers}.
 */
final class PositionIds {

    private PositionIds() {
    }

    /** The tensor shape of {@code batch} rows of {@code seq} positions on {@code axes} axes. */
    static long[] shape(int axes, int batch, int seq) {
        return axes == 1 ? new long[] {batch, seq} : new long[] {axes, batch, seq};
    }

    /**
     * One sequence of {@code total} tokens from its start: the prompt's positions, then each later token at its
     * index plus the prompt's delta.
     */
    static LongBuffer sequence(ScratchBuffers scratch, String slot, PromptPositions prompt, int total) {
        int axes = prompt.axes();
        int p = prompt.length();
        LongBuffer b = scratch.longs(slot, (long) axes * total);
        for (int a = 0; a < axes; a++) {
            for (int i = 0; i < total; i++) {
                b.put(a * total + i, i < p ? prompt.at(a, i) : prompt.positionOf(i));
            }
        }
        return b;
    }

    /** The token at sequence index {@code index} for each of {@code batch} rows sharing one prompt. */
    static LongBuffer step(ScratchBuffers scratch, String slot, PromptPositions prompt, int index, int batch) {
        int axes = prompt.axes();
        LongBuffer b = scratch.longs(slot, (long) axes * batch);
        long position = prompt.positionOf(index);
        for (int i = 0; i < axes * batch; i++) {
            b.put(i, position);
        }
        return b;
    }

    /**
     * The next token of each row of a batch of several prompts: a row of prompt {@code rowGroup[r]} is at sequence
     * index {@code indices[rowGroup[r]]} of its own sequence (its length so far), whatever the padding before it.
     */
    static LongBuffer steps(ScratchBuffers scratch, String slot, List<PromptPositions> prompts, int[] rowGroup,
            int[] indices) {
        int axes = prompts.get(0).axes();
        int rows = rowGroup.length;
        LongBuffer b = scratch.longs(slot, (long) axes * rows);
        for (int r = 0; r < rows; r++) {
            long position = prompts.get(rowGroup[r]).positionOf(indices[rowGroup[r]]);
            for (int a = 0; a < axes; a++) {
                b.put(a * rows + r, position);
            }
        }
        return b;
    }
}
