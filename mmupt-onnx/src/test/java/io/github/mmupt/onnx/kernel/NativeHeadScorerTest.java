package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NativeHeadScorerTest {

    private static final int V = 37;
    private static final int D = 16;

    private static float[] gaussian(Random rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    @Test
    void scoresBitForBitAsTheTrainerOfTheSameHead() {
        Random rng = new Random(9);
        HeadWeights weights = HeadWeights.full(HeadShape.full(V, D), gaussian(rng, V * D));
        float[] h = gaussian(rng, 5 * D);
        h[2 * D + 3] = Float.NaN; // a corrupt row: NaN there, the others unaffected, in both
        HiddenStates hidden = HiddenStates.of(5, D, h);
        ImmutableIntArray targets = ImmutableIntArray.of(1, 36, 0, 5, 5);
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(0.9).build();
        try (NativeGrpoOptimizer trainer = new NativeGrpoOptimizer(weights, loss, AdamWConfig.mmUpt(),
                KernelOptions.defaults());
                NativeHeadScorer scorer = new NativeHeadScorer(weights, 0.9, KernelOptions.defaults())) {
            TokenScores a = trainer.score(hidden, targets, HeadVersion.CURRENT);
            TokenScores b = scorer.score(hidden, targets, HeadVersion.CURRENT);
            assertThat(b).isEqualTo(a);
            assertThat(b.logProbs().get(2)).isNaN();
            assertThat(b.logProbs().get(0)).isFinite().isNegative();
            FloatBuffer za = FloatBuffer.allocate(5 * V);
            FloatBuffer zb = FloatBuffer.allocate(5 * V);
            trainer.logits(hidden, za);
            scorer.logits(hidden, zb);
            assertThat(zb.array()).containsExactly(za.array());
        }
    }

    @Test
    void refusesBadSettingsAndUseAfterClose() {
        HeadWeights weights = HeadWeights.full(HeadShape.full(V, D), new float[V * D]);
        assertThatThrownBy(() -> new NativeHeadScorer(weights, Double.NaN, KernelOptions.defaults()))
                .hasMessageContaining("temperature");
        NativeHeadScorer scorer = new NativeHeadScorer(weights, 1.0, KernelOptions.defaults());
        assertThatThrownBy(() -> scorer.logits(HiddenStates.of(1, D - 1, new float[D - 1]), FloatBuffer.allocate(V)))
                .hasMessageContaining("d = " + D);
        scorer.close();
        scorer.close();
        assertThatThrownBy(() -> scorer.logits(HiddenStates.of(1, D, new float[D]), FloatBuffer.allocate(V)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }
}
