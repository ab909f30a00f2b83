package io.github.mmupt.answer;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link AnswerEquivalence#vqa()}, rule by rule as its Javadoc lists them. */
class VqaEquivalenceTest {

    private static final AnswerEquivalence VQA = AnswerEquivalence.vqa();

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
        // normalization
        "Red|red", "the red one|red one", "A dog.|dog", "don't know|dont know", "1,000|1000", "x-ray|x ray",
        "  Two  |2", "none|0", "ten|10", "Yes!|yes", "\"blue\"|blue",
        // multiple choice
        "(B)|b", "(B) a red car|B", "B.|(b)", "B) 12 cm|option b", "Answer: C|c", "option (d)|D",
        // numbers: ChartQA's 5% relaxed match
        "12.4|12", "100|104.9", "12%|0.12", "12 percent|12%", "-5|-5.1", "$1,200|1200", "0|0",
        // yes/no
        "yes|Yes, there are two.", "No.|no, it is not",
    })
    void equivalent(String a, String b) {
        assertThat(VQA.equivalent(a, b)).as("%s = %s", a, b).isTrue();
        assertThat(VQA.equivalent(b, a)).as("symmetric").isTrue();
    }

    @ParameterizedTest(name = "{0} != {1}")
    @CsvSource(delimiter = '|', value = {
        "red|blue", "A cat|a", "A cat|A", "(B)|c", "B|b) no",
        "100|105.1", "12%|12", "-5|5", "0|0.01", "yes|no", "yes it is|yes it was", "2|two cats",
        "the|the ", "cat|cats",
    })
    void notEquivalent(String a, String b) {
        if (a.strip().equals(b.strip())) {
            // identical text is always the same answer, even one that normalizes to nothing
            assertThat(VQA.equivalent(a, b)).isTrue();
            assertThat(VQA.equivalent(a, "an")).as("an empty normalization matches nothing else").isFalse();
            return;
        }
        assertThat(VQA.equivalent(a, b)).as("%s != %s", a, b).isFalse();
        assertThat(VQA.equivalent(b, a)).as("symmetric").isFalse();
    }

    @Property
    void theRelaxedMatchNeverAcceptsWhatChartQaRejects(@ForAll("values") double gold, @ForAll("values") double predicted) {
        boolean ours = VQA.equivalent(Double.toString(gold), Double.toString(predicted));
        boolean chartQa = gold == 0 ? predicted == 0 : Math.abs(predicted - gold) / Math.abs(gold) <= 0.05;
        boolean chartQaOtherWay = predicted == 0 ? gold == 0 : Math.abs(predicted - gold) / Math.abs(predicted) <= 0.05;
        if (ours) {
            assertThat(chartQa && chartQaOtherWay).as("gold %s, predicted %s", gold, predicted).isTrue();
        }
        assertThat(VQA.equivalent(Double.toString(predicted), Double.toString(gold))).isEqualTo(ours);
    }

    @Provide
    Arbitrary<Double> values() {
        return Arbitraries.oneOf(Arbitraries.doubles().between(-1000, 1000).ofScale(2),
                Arbitraries.of(0.0, 1.0, 100.0, 104.9, 105.0, 95.0, -3.0));
    }

    @Property
    void sharingAKeyMeansEquivalent(@ForAll("answers") String a, @ForAll("answers") String b) {
        List<String> ka = VQA.keys(VQA.prepare(a));
        List<String> kb = VQA.keys(VQA.prepare(b));
        if (ka.stream().anyMatch(kb::contains)) {
            assertThat(VQA.equivalent(a, b)).as("%s and %s share a key", a, b).isTrue();
        }
    }

    @Provide
    Arbitrary<String> answers() {
        return Arbitraries.of("yes", "Yes.", "yes, two", "no", "B", "(b)", "b", "option B", "12", "12.0", "12%",
                "0.12", "twelve", "two", "2", "red", "Red.", "the red", "A cat", "cat", "100", "104", "$100", "", "the");
    }

    @ParameterizedTest
    @CsvSource({"1000", "5000"})
    void oversizedAnswersCompareAsText(int length) {
        String long1 = "word ".repeat(length / 5);
        assertThat(VQA.equivalent(long1, long1.replace(" ", "  "))).isTrue();
        assertThat(VQA.equivalent(long1, long1 + "x")).isFalse();
    }

    @org.junit.jupiter.api.Test
    void theLabelerVotesWithIt() {
        MajorityVoteLabeler labeler = MajorityVoteLabeler.builder().equivalence(VQA).minAgreement(0.0).build();
        VoteResult vote = labeler.label(List.of(Optional.of("Two"), Optional.of("2"), Optional.of("two cats"),
                Optional.of("(B)"), Optional.of("2.05"), Optional.empty()));
        assertThat(vote.label()).isPresent();
        assertThat(VQA.equivalent(vote.label().get(), "2")).isTrue();
        assertThat(vote.rewards().toArray()).containsExactly(1, 1, 0, 0, 1, 0);
        assertThat(VQA.toString()).isEqualTo("AnswerEquivalence[VQA]");
        assertThat(VQA.isVqa()).isTrue();
        assertThat(AnswerEquivalence.standard().isVqa()).isFalse();
        // a prepared answer compares under another variant too
        assertThat(AnswerEquivalence.standard().equivalent(VQA.prepare("1/2"), AnswerEquivalence.standard()
                .prepare("0.5"))).isTrue();
    }
}
