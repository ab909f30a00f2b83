package io.github.mmupt.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class SynthesisFiltersTest {

    @Property
    void similarityIsSymmetricBoundedAndOneForItself(@ForAll String a, @ForAll String b) {
        double s = SynthesisFilters.similarity(a, b);
        assertThat(s).isBetween(0.0, 1.0).isEqualTo(SynthesisFilters.similarity(b, a));
        assertThat(SynthesisFilters.similarity(a, a)).isEqualTo(1.0);
    }

    @Test
    void similarityIgnoresCasePunctuationAndSpacing() {
        assertThat(SynthesisFilters.similarity("How many RED shapes?", "how many red   shapes ?")).isEqualTo(1.0);
        assertThat(SynthesisFilters.similarity("how many red shapes", "how many blue shapes")).isEqualTo(3.0 / 5);
        assertThat(SynthesisFilters.wordCount("  What's 2+2 ?")).isEqualTo(4);
    }

    @Test
    void theDefaultQuestionCheck() {
        assertThat(SynthesisFilters.looksLikeQuestion("What colour is it?  ")).isTrue();
        assertThat(SynthesisFilters.looksLikeQuestion("3 + 4 ?")).isFalse();
        assertThat(SynthesisFilters.looksLikeQuestion("What colour is it.")).isFalse();
    }

    @Test
    void badSettingsSayWhy() {
        assertThatThrownBy(() -> SynthesisFilters.builder().words(5, 2).build()).hasMessageContaining("minWords <= maxWords");
        assertThatThrownBy(() -> SynthesisFilters.builder().maxSimilarity(0).build()).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> SynthesisFilters.builder().selfConsistency(0.5, null).build())
                .hasMessageContaining("sampling settings");
    }
}
