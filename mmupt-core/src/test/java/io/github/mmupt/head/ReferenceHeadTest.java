package io.github.mmupt.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ReferenceHeadTest {

    @Test
    void scoresAreLogSoftmaxOfScaledLogits() {
        // W = identity-like 3 x 2, h = (1, 2): z = (1, 2, 3) with the third row = (1, 1)
        ReferenceHead head = ReferenceHead.full(HeadShape.full(3, 2), new double[] {1, 0, 0, 1, 1, 1});
        TokenScores s = head.score(new double[] {1, 2}, new int[] {2}, 2.0);
        double lse = Math.log(Math.exp(0.5) + Math.exp(1.0) + Math.exp(1.5));
        assertThat(s.logProbs().get(0)).isCloseTo(1.5 - lse, within(1e-15));
        double entropy = 0;
        for (double z : new double[] {0.5, 1.0, 1.5}) {
            double lp = z - lse;
            entropy -= Math.exp(lp) * lp;
        }
        assertThat(s.entropies().get(0)).isCloseTo(entropy, within(1e-15));
    }

    @Test
    void loraWithZeroBIsTheBaseHead() {
        HeadShape shape = HeadShape.lora(3, 2, 1, 2.0);
        double[] base = {1, 0, 0, 1, 1, 1};
        ReferenceHead lora = ReferenceHead.lora(shape, base, new double[] {0.3, -0.2}, new double[3]);
        ReferenceHead full = ReferenceHead.full(HeadShape.full(3, 2), base);
        assertThat(lora.effectiveWeight()).containsExactly(full.effectiveWeight());
        assertThat(lora.score(new double[] {0.4, -1}, new int[] {1}, 1.0))
                .isEqualTo(full.score(new double[] {0.4, -1}, new int[] {1}, 1.0));
    }

    @Test
    void inputsAreCheckedWithShapesInTheMessage() {
        ReferenceHead head = ReferenceHead.full(HeadShape.full(3, 2), new double[6]);
        assertThatThrownBy(() -> head.score(new double[3], new int[] {0}, 1.0)).hasMessageContaining("[T=1 x d=2]");
        assertThatThrownBy(() -> head.score(new double[2], new int[] {3}, 1.0))
                .hasMessageContaining("target 0 is token 3, outside the vocabulary [0, 3)");
        assertThatThrownBy(() -> ReferenceHead.full(HeadShape.full(3, 2), new double[] {1, 2, 3, 4, 5, Double.NaN}))
                .hasMessageContaining("weight[5] is NaN");
        assertThatThrownBy(() -> HeadShape.lora(3, 2, 3, 1.0)).hasMessageContaining("rank");
        assertThat(HeadShape.lora(100, 8, 4, 8.0).trainableParameters()).isEqualTo(4 * (8 + 100));
    }

    @Test
    void floatWeightsConvertToTheReferenceAndValidate() {
        HeadShape shape = HeadShape.lora(3, 2, 1, 2.0);
        HeadWeights w = HeadWeights.lora(shape, new float[] {1, 0, 0, 1, 1, 1}, new float[] {0.5f, -1}, new float[] {1, 0, 2});
        ReferenceHead ref = w.toReference();
        assertThat(ref.loraB()).containsExactly(1, 0, 2);
        assertThat(w.weight()).containsExactly(1, 0, 0, 1, 1, 1);
        float[] copy = w.loraA();
        copy[0] = 9;
        assertThat(w.loraA()[0]).isEqualTo(0.5f);
        assertThatThrownBy(() -> HeadWeights.full(HeadShape.full(2, 2), new float[] {1, 2, 3, Float.NaN}))
                .hasMessageContaining("weight[3] is NaN");
        assertThatThrownBy(() -> HeadWeights.full(shape, new float[6])).hasMessageContaining("full-head shape");
    }
}
