package io.github.mmupt.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.RgbImage;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DesignedTrunkTest {

    @Test
    void residualRegionsTileTheStreamWithoutOverlap() {
        int next = 0;
        for (Map.Entry<String, int[]> r : DesignedTrunk.regions().entrySet()) {
            assertThat(r.getValue()[0]).as("%s starts where the previous region ends", r.getKey()).isEqualTo(next);
            assertThat(r.getValue()[1]).as(r.getKey()).isGreaterThan(r.getValue()[0]);
            next = r.getValue()[1];
        }
        assertThat(next).isEqualTo(DesignedTrunk.D);
        assertThat(ShapesTask.vocabulary().size() + 6).isLessThanOrEqualTo(DesignedTrunk.VOCAB_SLOTS);
    }

    /** What each way of looking counts, computed from the pixels as the vision encoder does. */
    private static double seen(RgbImage img, int method, int colour) {
        double total = 0;
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                double[] v = new double[3];
                for (int c = 0; c < 3; c++) {
                    v[c] = img.channel(x, y, c) / 127.5 - 1;
                }
                double colourness = (v[colour] - v[(colour + 1) % 3] - v[(colour + 2) % 3] + 1) / 4;
                total += colourness * DesignedTrunk.pixelWeight(method, x % 12, y % 12, 12);
            }
        }
        return total / ShapesTask.UNIT_AREA;
    }

    @Test
    void waysOfLookingMissDifferentPicturesSoTheirMajorityBeatsEachAlone() {
        SplittableRandom rng = new SplittableRandom(11);
        int n = 600;
        int[] right = new int[3];
        int majorityRight = 0;
        for (int i = 0; i < n; i++) {
            int[] counts = {rng.nextInt(4), rng.nextInt(4), rng.nextInt(4)};
            RgbImage img = ShapesTask.draw(counts, rng);
            int colour = rng.nextInt(3);
            long[] answer = new long[3];
            for (int m = 0; m < 3; m++) {
                answer[m] = Math.round(seen(img, m, colour));
                right[m] += answer[m] == counts[colour] ? 1 : 0;
            }
            long majority = answer[1] == answer[2] ? answer[1] : answer[0];
            majorityRight += majority == counts[colour] ? 1 : 0;
        }
        double across = right[0] / (double) n;
        double down = right[1] / (double) n;
        double diagonal = right[2] / (double) n;
        assertThat(across).as("across is the most reliable way").isGreaterThan(Math.max(down, diagonal)).isGreaterThan(0.9);
        assertThat(Math.min(down, diagonal)).as("the other ways miss often").isBetween(0.7, 0.9);
        assertThat(majorityRight / (double) n).as("the majority beats the mean single way")
                .isGreaterThan((across + down + diagonal) / 3 + 0.03);
    }

    @Test
    void goldResponsesUseEveryWayOfLooking() {
        List<Example> examples = ShapesTask.generate("g", 300, 2);
        for (String way : ShapesTask.METHODS) {
            long uses = examples.stream().filter(e -> e.goldResponse().orElseThrow().startsWith(way + " ")).count();
            assertThat(uses).as(way).isBetween(70L, 130L);
        }
    }
}
