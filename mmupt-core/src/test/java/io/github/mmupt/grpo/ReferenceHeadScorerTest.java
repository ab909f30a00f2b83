package io.github.mmupt.grpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReferenceHeadScorerTest {

    private static final int V = 11;
    private static final int D = 5;

    @Test
    void scoresAndLogitsAreTheOptimizersForTheSameHead() {
        Random rng = new Random(3);
        double[] w = new double[V * D];
        for (int i = 0; i < w.length; i++) {
            w[i] = rng.nextGaussian();
        }
        ReferenceHead head = ReferenceHead.full(HeadShape.full(V, D), w);
        float[] h = new float[4 * D];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) rng.nextGaussian();
        }
        HiddenStates hidden = HiddenStates.of(4, D, h);
        ImmutableIntArray targets = ImmutableIntArray.of(0, 3, 10, 3);
        GrpoLossConfig loss = GrpoLossConfig.builder().temperature(0.7).build();
        try (ReferenceGrpoOptimizer opt = new ReferenceGrpoOptimizer(head, loss, AdamWConfig.mmUpt());
                ReferenceHeadScorer scorer = new ReferenceHeadScorer(head, 0.7)) {
            TokenScores a = opt.score(hidden, targets, HeadVersion.CURRENT);
            TokenScores b = scorer.score(hidden, targets, HeadVersion.CURRENT);
            assertThat(b.logProbs().toArray()).containsExactly(a.logProbs().toArray());
            assertThat(b.entropies().toArray()).containsExactly(a.entropies().toArray());
            FloatBuffer za = FloatBuffer.allocate(4 * V);
            FloatBuffer zb = FloatBuffer.allocate(4 * V);
            opt.logits(hidden, za);
            scorer.logits(hidden, zb);
            assertThat(zb.array()).containsExactly(za.array());
            assertThat(scorer.temperature()).isEqualTo(opt.temperature()).isEqualTo(0.7);
        }
    }

    @Test
    void refusesWhatItCannotScore() {
        ReferenceHead head = ReferenceHead.full(HeadShape.full(V, D), new double[V * D]);
        assertThatThrownBy(() -> new ReferenceHeadScorer(head, 0)).hasMessageContaining("temperature");
        ReferenceHeadScorer scorer = new ReferenceHeadScorer(head, 1.0);
        assertThatThrownBy(() -> scorer.logits(HiddenStates.of(1, D + 1, new float[D + 1]), FloatBuffer.allocate(V)))
                .hasMessageContaining("width " + (D + 1)).hasMessageContaining("d = " + D);
        scorer.close();
        scorer.close();
        assertThatThrownBy(() -> scorer.logits(HiddenStates.of(1, D, new float[D]), FloatBuffer.allocate(V)))
                .hasMessageContaining("closed");
    }
}
