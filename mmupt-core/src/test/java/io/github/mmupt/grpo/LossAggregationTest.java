package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LossAggregationTest {

    private static final int[] LENGTHS = {2, 0, 4};

    @Test
    void tokenMeanWeighsEveryTokenAlike() {
        assertThat(LossAggregation.TOKEN_MEAN.tokenWeights(LENGTHS, 1)).containsExactly(1 / 6.0, 1 / 6.0, 1 / 6.0,
                1 / 6.0, 1 / 6.0, 1 / 6.0);
    }

    @Test
    void seqMeanTokenMeanWeighsEverySequenceAlike() {
        double[] w = LossAggregation.SEQ_MEAN_TOKEN_MEAN.tokenWeights(LENGTHS, 1);
        assertThat(w).containsExactly(0.25, 0.25, 0.125, 0.125, 0.125, 0.125);
        assertThat(w[0] + w[1]).isEqualTo(w[2] + w[3] + w[4] + w[5]);
    }

    @Test
    void seqMeanTokenSumAndConstantNormalizer() {
        assertThat(LossAggregation.SEQ_MEAN_TOKEN_SUM.tokenWeights(LENGTHS, 1)).containsOnly(0.5);
        assertThat(LossAggregation.CONSTANT_NORMALIZER.tokenWeights(LENGTHS, 8)).containsOnly(1 / 16.0);
    }

    @Test
    void weightsSumToOneForTheMeans() {
        for (LossAggregation a : new LossAggregation[] {LossAggregation.TOKEN_MEAN,
                LossAggregation.SEQ_MEAN_TOKEN_MEAN}) {
            assertThat(Arrays.stream(a.tokenWeights(new int[] {3, 5, 1, 7}, 1)).sum()).as(a.name())
                    .isCloseTo(1.0, within(1e-15));
        }
    }

    @Test
    void noTokensGiveNoWeightsAndBadInputIsNamed() {
        assertThat(LossAggregation.TOKEN_MEAN.tokenWeights(new int[] {0, 0}, 1)).isEmpty();
        assertThatThrownBy(() -> LossAggregation.TOKEN_MEAN.tokenWeights(new int[] {2, -1}, 1))
                .hasMessageContaining("sequence 1 has negative length -1");
        assertThatThrownBy(() -> LossAggregation.CONSTANT_NORMALIZER.tokenWeights(new int[] {9}, 8))
                .hasMessageContaining("longest sequence (9)");
    }
}
