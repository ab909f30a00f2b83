package io.github.mmupt.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class Float16Test {

    @Test
    void everyFloat16WidensAndNarrowsBackToItself() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = Float16.toFloat(h);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(Float16.toFloat(Float16.fromFloat(f)))).as("NaN 0x%04x", bits).isTrue();
            } else {
                assertThat(Float16.fromFloat(f)).as("0x%04x", bits).isEqualTo(h);
            }
        }
    }

    @Test
    void halfwayValuesRoundToEvenAndLargeOnesOverflow() {
        for (int bits = 0; bits < 0x7BFF; bits++) { // every pair of adjacent finite non-negative float16s
            float low = Float16.toFloat((short) bits);
            float high = Float16.toFloat((short) (bits + 1));
            float mid = (float) ((low + (double) high) / 2); // exact: float has 13 more bits
            short even = (short) ((bits & 1) == 0 ? bits : bits + 1);
            assertThat(Float16.fromFloat(mid)).as("midway after 0x%04x", bits).isEqualTo(even);
            assertThat(Float16.fromFloat(Math.nextUp(mid))).isEqualTo((short) (bits + 1));
            assertThat(Float16.fromFloat(Math.nextDown(mid))).isEqualTo((short) bits);
        }
        assertThat(Float16.fromFloat(65504f)).isEqualTo((short) 0x7BFF);
        assertThat(Float16.fromFloat(65519.99f)).isEqualTo((short) 0x7BFF);
        assertThat(Float16.fromFloat(65520f)).as("halfway to 2^16 rounds to even: infinity").isEqualTo((short) 0x7C00);
        assertThat(Float16.fromFloat(-1e9f)).isEqualTo((short) 0xFC00);
        assertThat(Float16.fromFloat(-0f)).isEqualTo((short) 0x8000);
    }

    @Property
    void narrowingPicksTheNearestFloat16(@ForAll float f) {
        if (Float.isNaN(f) || Math.abs(f) >= 65520f) {
            return;
        }
        float got = Float16.toFloat(Float16.fromFloat(f));
        BigDecimal exact = new BigDecimal(f);
        BigDecimal error = exact.subtract(new BigDecimal(got)).abs();
        short h = Float16.fromFloat(f);
        for (int neighbour : new int[] {(h & 0xFFFF) - 1, (h & 0xFFFF) + 1}) {
            float other = Float16.toFloat((short) neighbour);
            if (Float.isFinite(other) && Math.signum(other) * Math.signum(got) >= 0) {
                assertThat(error).isLessThanOrEqualTo(exact.subtract(new BigDecimal(other)).abs());
            }
        }
    }
}
