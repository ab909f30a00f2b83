package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.ChildJvm;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/**
 * A head over 2^31 bytes (131,072 x 4,100 floats, 2.15 GB: Qwen2.5-VL-7B's is 2.18 GB) goes into native memory
 * in bounded pieces and gives the logits of the weights it was given, at the first row, the last row and rows
 * between. In a child JVM with a 5 GB heap, because the weights are held on the heap twice while
 * {@link HeadWeights} copies them.
 */
class LargeHeadTest {

    static final int V = 131_072;
    static final int D = 4_100;

    @Test
    void aHeadOverTwoGigabytesUploadsInPiecesAndScores() throws Exception {
        assumeThat(NativeMemory.available()).as("this test needs about 7 GB of free memory").isGreaterThan(8L << 30);
        assertThat(ChildJvm.run(Child.class, "5g", 180, java.util.List.of())).contains("rows checked: 5, max relative error");
    }

    /** The weight of row v, column j: cheap to recompute, different in every row. */
    static float weight(long v, long j) {
        return (float) (((v * 31 + j * 17) % 97) - 48) / 64f;
    }

    /** Uploads, computes the logits of one hidden state, and compares five rows with a double-precision dot product. */
    public static final class Child {
        public static void main(String[] args) {
            HeadShape shape = HeadShape.full(V, D);
            assertThat((long) V * D * Float.BYTES).isGreaterThan(Integer.MAX_VALUE);
            float[] w = new float[V * D];
            for (int v = 0; v < V; v++) {
                for (int j = 0; j < D; j++) {
                    w[v * D + j] = weight(v, j);
                }
            }
            HeadWeights weights = HeadWeights.full(shape, w);
            w = null; // half the heap back before the upload
            float[] h = new float[D];
            for (int j = 0; j < D; j++) {
                h[j] = (float) Math.sin(j * 0.01);
            }
            try (NativeHeadScorer scorer = new NativeHeadScorer(weights, 1.0, KernelOptions.defaults())) {
                FloatBuffer logits = DirectScratch.newFloats(V);
                scorer.logits(HiddenStates.of(1, D, h), logits);
                double worst = 0;
                int[] rows = {0, 1, V / 2 + 3, V - 2, V - 1};
                for (int v : rows) {
                    double expected = 0;
                    double scale = 0;
                    for (int j = 0; j < D; j++) {
                        expected += (double) weight(v, j) * h[j];
                        scale += Math.abs((double) weight(v, j) * h[j]);
                    }
                    worst = Math.max(worst, Math.abs(logits.get(v) - expected) / scale);
                }
                if (worst > 1e-5) {
                    throw new AssertionError("logits differ from the weights given: relative error " + worst);
                }
                System.out.println("rows checked: " + rows.length + ", max relative error " + worst + "; the head holds "
                        + NativeHead.bytesNeeded(shape, false, KernelOptions.defaults()) + " bytes");
            }
        }
    }
}
