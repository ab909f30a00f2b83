package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableLongArray;
import io.github.mmupt.onnx.family.PromptPositions;
import java.nio.LongBuffer;
import org.junit.jupiter.api.Test;

class PositionIdsTest {

    /** Three prompt tokens whose (t, h, w) positions compress an image: the delta is negative. */
    private static final PromptPositions MROPE = new PromptPositions(3,
            ImmutableLongArray.of(0, 1, 1, /* h */ 0, 1, 2, /* w */ 0, 2, 1), -1);

    private static long[] read(LongBuffer b) {
        long[] out = new long[b.capacity()];
        b.duplicate().clear().get(out);
        return out;
    }

    @Test
    void oneAxisIsBatchBySequence() {
        assertThat(PositionIds.shape(1, 4, 7)).containsExactly(4, 7);
        assertThat(PositionIds.shape(3, 4, 7)).containsExactly(3, 4, 7);
        LongBuffer b = PositionIds.sequence(new ScratchBuffers(), "s", PromptPositions.sequential(3), 5);
        assertThat(read(b)).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void mropeSequencesContinueEveryAxisAtTheIndexPlusTheDelta() {
        LongBuffer b = PositionIds.sequence(new ScratchBuffers(), "s", MROPE, 5);
        // axis-major [3, 1, 5]: the prompt's triples, then index + delta (3 - 1, 4 - 1) on all three axes
        assertThat(read(b)).containsExactly(0, 1, 1, 2, 3, /* h */ 0, 1, 2, 2, 3, /* w */ 0, 2, 1, 2, 3);
    }

    @Test
    void aDecodeStepPutsTheSamePositionOnEveryAxisAndRow() {
        LongBuffer b = PositionIds.step(new ScratchBuffers(), "s", MROPE, 6, 2);
        assertThat(read(b)).containsExactly(5, 5, 5, 5, 5, 5);
        assertThat(read(PositionIds.step(new ScratchBuffers(), "s", PromptPositions.sequential(3), 3, 2)))
                .containsExactly(3, 3);
    }
}
