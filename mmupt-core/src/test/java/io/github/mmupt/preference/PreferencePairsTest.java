package io.github.mmupt.preference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.data.Example;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.FinishReason;
import io.github.mmupt.rollout.Rollout;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.RolloutSampler;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * STIC's pairs: the preferred response comes from the good prompt on the real image, the dispreferred from the
 * poor prompt on the corrupted image, the pair's prompt is the source's own, identical responses are dropped,
 * and no label is read.
 */
class PreferencePairsTest {

    private static final RgbImage RED = image(255, 0, 0);

    private static RgbImage image(int r, int g, int b) {
        byte[] rgb = new byte[8 * 8 * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) r;
            rgb[i + 1] = (byte) g;
            rgb[i + 2] = (byte) b;
        }
        return RgbImage.of(8, 8, rgb);
    }

    /** Answers with the image's first pixel's dominant channel and whether the prompt says "carefully". */
    private static RolloutSampler colourSampler(List<Prompt> seen) {
        return (prompts, params, seed) -> {
            List<RolloutGroup> out = new ArrayList<>();
            for (Prompt p : prompts) {
                seen.add(p);
                RgbImage im = p.images().get(0);
                int channel = im.channel(0, 0, 0) > 128 ? 0 : im.channel(0, 0, 1) > 128 ? 1 : 2;
                String text = p.id().startsWith("same") ? "same" : "colour " + channel
                        + (p.question().contains("carefully") ? " careful" : "");
                out.add(new RolloutGroup(p, List.of(new Rollout(ImmutableIntArray.of(text.length(), 0),
                        ImmutableDoubleArray.of(), text, Optional.empty(), FinishReason.STOP))));
            }
            return out;
        };
    }

    private static Example source(String id, Optional<String> gold) {
        return new Example(new Prompt(id, List.of(RED), "<image>what colour is it?"), gold, gold);
    }

    @Test
    void preferredFromTheGoodPromptOnTheRealImageDispreferredFromTheCorruptedOne() {
        List<Prompt> seen = new ArrayList<>();
        List<PreferencePair> pairs = PreferencePairWriter.builder().sampler(colourSampler(seen))
                .corruption(ImageCorruption.ROTATE_CHANNELS).build()
                .write(List.of(source("a", Optional.empty()), source("same-b", Optional.empty())));
        assertThat(pairs).as("the pair of identical responses is dropped").hasSize(1);
        PreferencePair p = pairs.get(0);
        assertThat(p.prompt()).isEqualTo(source("a", Optional.empty()).prompt());
        assertThat(p.chosenText()).isEqualTo("colour 0 careful");
        assertThat(p.rejectedText()).as("red became green in the corrupted image").isEqualTo("colour 1");
        assertThat(seen).hasSize(4);
        assertThat(seen.get(0).question()).contains("carefully");
    }

    @Test
    void readsNoLabel() {
        List<Prompt> a = new ArrayList<>();
        List<Prompt> b = new ArrayList<>();
        PreferencePairWriter w = PreferencePairWriter.builder().sampler(colourSampler(a)).seed(3).build();
        List<PreferencePair> withLabels = w.write(List.of(source("a", Optional.of("GOLD"))));
        List<PreferencePair> without = PreferencePairWriter.builder().sampler(colourSampler(b)).seed(3).build()
                .write(List.of(source("a", Optional.empty())));
        assertThat(withLabels).isEqualTo(without);
        assertThat(a).isEqualTo(b).allSatisfy(p -> assertThat(p.question()).doesNotContain("GOLD"));
    }

    @Test
    void corruptionsChangeTheImageAsDocumented() {
        RgbImage rotated = ImageCorruption.ROTATE_CHANNELS.apply(RED);
        assertThat(rotated.channel(3, 3, 0)).isZero();
        assertThat(rotated.channel(3, 3, 1)).isEqualTo(255);
        byte[] checker = new byte[8 * 8 * 3];
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                checker[(y * 8 + x) * 3] = (byte) ((x + y) % 2 == 0 ? 255 : 0);
            }
        }
        RgbImage low = ImageCorruption.LOW_RESOLUTION.apply(RgbImage.of(8, 8, checker));
        assertThat(low.channel(0, 0, 0)).isEqualTo(128);
        assertThat(low.channel(7, 7, 0)).isEqualTo(128);
        assertThat(ImageCorruption.NONE.apply(RED)).isSameAs(RED);
    }

    @Test
    void refusesSettingsWithoutAPreference() {
        assertThatThrownBy(() -> PreferencePairWriter.builder().sampler(colourSampler(new ArrayList<>()))
                .goodPrompt("{images}{question}").corruption(ImageCorruption.NONE).build())
                .hasMessageContaining("differ by chance only");
        assertThatThrownBy(() -> PreferencePairWriter.builder().sampler(colourSampler(new ArrayList<>()))
                .goodPrompt("{question}").build()).hasMessageContaining("{images}");
        assertThatThrownBy(() -> new PreferencePair(source("a", Optional.empty()).prompt(), ImmutableIntArray.of(),
                "", ImmutableIntArray.of(1), "x")).hasMessageContaining("at least one token");
    }
}
