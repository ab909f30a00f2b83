package io.github.mmupt.onnx.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableIntArray;
import com.google.common.primitives.ImmutableLongArray;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The family's value types refuse what does not fit, naming what was wrong. */
class FamilyValuesTest {

    private static VisionFeed feed(int rows) {
        return new VisionFeed(List.of(FeedTensor.floats("pixel_values", new long[] {1, 2}, new float[2])),
                "image_features", new long[] {rows, 8}, rows);
    }

    @Test
    void positionsFillWholeAxes() {
        PromptPositions p = new PromptPositions(3, ImmutableLongArray.of(0, 1, 0, 1, 0, 1), 2);
        assertThat(p.length()).isEqualTo(2);
        assertThat(p.at(2, 1)).isEqualTo(1);
        assertThat(p.positionOf(2)).isEqualTo(4);
        assertThatThrownBy(() -> new PromptPositions(3, ImmutableLongArray.of(0, 1), 0))
                .hasMessageContaining("3 equal rows");
    }

    @Test
    void feedsHoldExactlyTheirShape() {
        assertThatThrownBy(() -> FeedTensor.longs("grid_thw", new long[] {1, 3}, new long[] {1, 2}))
                .hasMessageContaining("grid_thw: shape [1, 3] holds 3 elements but the data has 2");
        assertThatThrownBy(() -> new VisionFeed(List.of(), "image_features", new long[] {1, 16, 8}, 4))
                .hasMessageContaining("does not hold 4 rows");
        assertThat(feed(4).rows()).isEqualTo(4);
    }

    @Test
    void anEncodedPromptsPositionsAndSlotsMustFitItsIds() {
        ImmutableIntArray ids = ImmutableIntArray.of(1, 5, 5, 5, 2);
        EncodedPrompt ok = new EncodedPrompt(ids, List.of(new ImageSlot(1, feed(3))), PromptPositions.sequential(5));
        assertThat(ok.images()).hasSize(1);
        assertThatThrownBy(() -> new EncodedPrompt(ids, List.of(), PromptPositions.sequential(4)))
                .hasMessageContaining("positions for 4 tokens given for a prompt of 5");
        assertThatThrownBy(() -> new EncodedPrompt(ids, List.of(new ImageSlot(3, feed(3))),
                PromptPositions.sequential(5))).hasMessageContaining("runs past the prompt's 5 tokens");
    }

    @Test
    void graphNamesNeedTheLayerOnce() {
        GraphNames standard = GraphNames.standard();
        assertThat(standard.presentValue(2)).isEqualTo("present.2.value");
        assertThatThrownBy(() -> new GraphNames("a", "b", "c", "d", "e", "f", "past.%d.%d", "g.%d", "h.%d", "i.%d",
                "logits")).hasMessageContaining("graph name pastKey must contain %d exactly once");
        assertThatThrownBy(() -> new TrunkShape(8, 0, 1, 1, 8, 16)).hasMessageContaining("vocabSize");
    }
}
