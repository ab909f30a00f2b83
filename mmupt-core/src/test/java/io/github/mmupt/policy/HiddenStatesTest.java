package io.github.mmupt.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableIntArray;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class HiddenStatesTest {

    @Test
    void shapeMustMatchTheBuffer() {
        assertThatThrownBy(() -> HiddenStates.of(2, 3, new float[5]))
                .hasMessageContaining("[T=2 x d=3] need 6 floats, the buffer has 5");
    }

    @Test
    void rowsShareTheBufferAndKeepDirectness() {
        FloatBuffer direct = ByteBuffer.allocateDirect(4 * 6).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < 6; i++) {
            direct.put(i, i);
        }
        HiddenStates h = new HiddenStates(3, 2, direct);
        assertThat(h.values().isDirect()).isTrue();
        assertThat(h.values().isReadOnly()).isTrue();
        HiddenStates tail = h.rows(1, 3);
        assertThat(tail.tokens()).isEqualTo(2);
        assertThat(tail.get(0, 1)).isEqualTo(3f);
        assertThat(tail.toDoubleArray()).containsExactly(2, 3, 4, 5);
        assertThatThrownBy(() -> h.rows(2, 4)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void specChecksItsIds() {
        assertThatThrownBy(() -> new PolicySpec("m", 8, 10, ImmutableIntArray.of(10)))
                .hasMessageContaining("end-of-sequence id 10 outside the vocabulary [0, 10)");
    }
}
