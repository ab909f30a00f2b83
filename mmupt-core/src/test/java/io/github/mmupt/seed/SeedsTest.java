package io.github.mmupt.seed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SeedsTest {

    /** Pinned: a changed derivation changes every rollout and breaks resuming old checkpoints bit-identically. */
    @Test
    void derivationsAreTheOnesCheckpointsWereWrittenWith() {
        assertThat(Seeds.step(42, 3)).isEqualTo(6349198060258255764L);
        assertThat(Seeds.shuffle(42, 2)).isEqualTo(8958016738113421717L);
        assertThat(Seeds.response(42, 5, 7)).isEqualTo(-6609653781034470043L);
        assertThat(Seeds.evaluation(41)).isEqualTo(42);
        assertThat(Seeds.synthesisAnswers(0)).isEqualTo(0x5DEECE66DL);
        assertThat(Seeds.synthesisConsistency(0)).isEqualTo(0x2545F491L);
    }

    @Test
    void streamsOfOneRunDoNotCollide() {
        Set<Long> seen = new HashSet<>();
        int count = 0;
        for (long k = 0; k < 200; k++) {
            seen.add(Seeds.step(7, k));
            seen.add(Seeds.shuffle(7, k));
            count += 2;
            for (long b = 0; b < 16; b++) {
                seen.add(Seeds.response(Seeds.step(7, k), k % 8, b));
                count++;
            }
        }
        assertThat(seen).hasSize(count);
    }
}
