package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** M-RoPE positions: the reference's worked example, padding, several images, and the merge of features. */
class QwenRopeIndexTest {

    private static final int VISION_START = 151652;
    private static final int VISION_END = 151653;
    private static final int PAD = 151655;
    private final QwenRopeIndex index = new QwenRopeIndex(VISION_START, PAD, 2);

    /** {@code before} text tokens, one image of {@code tokens} pads between vision start/end, {@code after}. */
    private static int[] prompt(int before, int tokens, int after) {
        int[] ids = new int[before + 2 + tokens + after];
        Arrays.fill(ids, 100);
        ids[before] = VISION_START;
        Arrays.fill(ids, before + 1, before + 1 + tokens, PAD);
        ids[before + 1 + tokens] = VISION_END;
        return ids;
    }

    @Test
    void workedExampleOfA224ImageMatchesTheReference() {
        int[] ids = prompt(14, 64, 9);
        assertThat(ids).hasSize(89);
        RopePositions p = index.compute(new int[][] {ids}, null, List.of(new long[] {1, 16, 16}));
        for (int s = 0; s <= 14; s++) {
            for (int axis = 0; axis < 3; axis++) {
                assertThat(p.at(axis, 0, s)).isEqualTo(s);
            }
        }
        for (int k = 0; k < 64; k++) {
            assertThat(p.at(0, 0, 15 + k)).isEqualTo(15);
            assertThat(p.at(1, 0, 15 + k)).isEqualTo(15 + k / 8);
            assertThat(p.at(2, 0, 15 + k)).isEqualTo(15 + k % 8);
        }
        assertThat(p.at(0, 0, 79)).isEqualTo(23);
        assertThat(p.at(2, 0, 88)).isEqualTo(32);
        assertThat(p.ropeDeltas()).containsExactly(-56);
        assertThat(p.decodePosition(0, 89)).isEqualTo(33);
    }

    @Test
    void leftPaddingIsSkippedAndGetsOneAsInHuggingFace() {
        int[] real = prompt(3, 4, 2);
        int[] padded = new int[real.length + 3];
        int[] mask = new int[padded.length];
        System.arraycopy(real, 0, padded, 3, real.length);
        Arrays.fill(mask, 3, mask.length, 1);
        RopePositions alone = index.compute(new int[][] {real}, null, List.of(new long[] {1, 4, 4}));
        int[] text = new int[padded.length];
        RopePositions batch = index.compute(new int[][] {text, padded}, new int[][] {onesLike(text), mask},
                List.of(new long[] {1, 4, 4}));
        for (int axis = 0; axis < 3; axis++) {
            for (int s = 0; s < 3; s++) {
                assertThat(batch.at(axis, 1, s)).isEqualTo(1);
            }
            for (int s = 0; s < real.length; s++) {
                assertThat(batch.at(axis, 1, s + 3)).isEqualTo(alone.at(axis, 0, s));
            }
            for (int s = 0; s < text.length; s++) {
                assertThat(batch.at(axis, 0, s)).isEqualTo(s);
            }
        }
        assertThat(batch.ropeDeltas()[0]).isZero();
        // the same next position for both rows: the padded row's cache is 3 longer and its delta 3 smaller
        assertThat(batch.decodePosition(1, padded.length)).isEqualTo(alone.decodePosition(0, real.length));
    }

    @Test
    void twoImagesInARowAndImagesAcrossRowsTakeTheGridsInOrder() {
        int[] first = prompt(2, 4, 0);
        int[] second = prompt(1, 6, 3);
        int[] row = new int[first.length + second.length];
        System.arraycopy(first, 0, row, 0, first.length);
        System.arraycopy(second, 0, row, first.length, second.length);
        RopePositions p = index.compute(new int[][] {row}, null, List.of(new long[] {1, 4, 4},
                new long[] {1, 4, 6}));
        // first image: base 3, 2x2 tokens; its vision_end at 7 resumes at max(4) + 1 = 5
        assertThat(p.at(1, 0, 6)).isEqualTo(4);
        assertThat(p.at(0, 0, 7)).isEqualTo(5);
        // second image starts after its own text (positions 6, 7) at base 8: 2 rows x 3 columns
        int secondPads = first.length + 2;
        assertThat(p.at(0, 0, secondPads + 5)).isEqualTo(8);
        assertThat(p.at(1, 0, secondPads + 5)).isEqualTo(9);
        assertThat(p.at(2, 0, secondPads + 5)).isEqualTo(10);
        assertThat(p.at(0, 0, row.length - 1)).isEqualTo(14);
        assertThat(p.ropeDeltas()).containsExactly(15 - row.length);
    }

    @Test
    void imagesAndGridsThatDisagreeAreErrorsNamingTheCounts() {
        int[] ids = prompt(2, 4, 2);
        assertThatThrownBy(() -> index.compute(new int[][] {ids}, null, List.of()))
                .hasMessageContaining("hold 1 images").hasMessageContaining("but 0 image grids");
        assertThatThrownBy(() -> index.compute(new int[][] {ids}, null, List.of(new long[] {1, 8, 8})))
                .hasMessageContaining("needs 16 <|image_pad|> tokens");
        assertThatThrownBy(() -> index.compute(new int[][] {ids}, null, List.of(new long[] {2, 4, 4})))
                .hasMessageContaining("a still image");
    }

    @Property(tries = 200)
    void textOnlyRowsCountTheirRealTokens(@ForAll @IntRange(min = 1, max = 40) int real,
            @ForAll @IntRange(min = 0, max = 10) int padding) {
        int[] ids = new int[real + padding];
        int[] mask = new int[ids.length];
        Arrays.fill(mask, padding, ids.length, 1);
        RopePositions p = index.compute(new int[][] {ids}, new int[][] {mask}, List.of());
        for (int s = 0; s < real; s++) {
            assertThat(p.at(0, 0, padding + s)).isEqualTo(s);
        }
        long max = padding > 0 ? Math.max(real - 1, 1) : real - 1;
        assertThat(p.ropeDeltas()[0]).isEqualTo(max + 1 - ids.length);
    }

    @Test
    void featuresGoToTheImagePadsInOrderAndCountsMustAgree() {
        int[] ids = {5, PAD, 6, PAD, PAD};
        float[] embeddings = new float[ids.length * 2];
        Arrays.fill(embeddings, -1f);
        ImageFeatureScatter.scatter(embeddings, ids, new float[] {1, 2, 3, 4, 5, 6}, 2, PAD);
        assertThat(embeddings).containsExactly(-1, -1, 1, 2, -1, -1, 3, 4, 5, 6);
        assertThatThrownBy(() -> ImageFeatureScatter.scatter(new float[10], ids, new float[4], 2, PAD))
                .hasMessageContaining("has 3 <|image_pad|> tokens but the vision encoder gave 2 feature rows");
    }

    private static int[] onesLike(int[] ids) {
        int[] ones = new int[ids.length];
        Arrays.fill(ones, 1);
        return ones;
    }
}
