package io.github.mmupt.judge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalDouble;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The judge parser: the documented forms read, everything ambiguous or out of range is no score. */
class JudgeScoresTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Score: 4|4",
        "score 4|4",
        "SCORE=5|5",
        "The score is 3.|3",
        "**Score:** 2|2",
        "Overall score of 4/5, good.|4",
        "Score: 4 out of 5|4",
        "Score: 4.5|4.5",
        "Reasoning is fine. Score: 5. Again, score: 5|5",
        "3|3",
        "  5 - the answer is right|5",
        "1/5|1",
    })
    void readsTheDocumentedForms(String reply, double expected) {
        assertThat(JudgeScores.parse(reply, 1, 5)).hasValue(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "   ",
        "Score: 4 ... on reflection, Score: 2",  // mentions disagree
        "Score: 6",                              // above the scale
        "Score: 0",                              // below the scale
        "Score: -3",                             // a sign is not part of a number here
        "Score: 4e3",                            // no exponents
        "Score: 4,5",                            // a decimal comma is ambiguous
        "Score: 0x4",                            // no hex
        "Score: 4/10",                           // a denominator other than the scale's max
        "Score: 1234567",                        // too many digits
        "Score: NaN",
        "Score: Infinity",
        "Score: \u0663",                          // a non-ASCII digit
        "score: four",
        "The answer is 4, score: unclear",        // "score" with no number: not a bare-number reply either
        "I would give it 4",                     // a number, but not leading and not after "score"
        "4stars",
        "scoreboard 3 and 5",                    // "score" as part of a word does not count; not leading either
    })
    void givesNoScoreForWhatItCannotReadUnambiguously(String reply) {
        assertThat(JudgeScores.parse(reply, 1, 5)).isEmpty();
    }

    @Test
    void readsOnlyTheFirstCharactersOfARunawayReply() {
        String pad = "x".repeat(JudgeScores.MAX_CHARS);
        assertThat(JudgeScores.parse("Score: 3 " + pad + " Score: 1", 1, 5)).hasValue(3);
        assertThat(JudgeScores.parse(pad + " Score: 3", 1, 5)).isEmpty();
        assertThat(JudgeScores.parse(null, 1, 5)).isEmpty();
    }

    @Test
    void refusesABadScale() {
        assertThatThrownBy(() -> JudgeScores.parse("3", 5, 1)).hasMessageContaining("min < max");
        assertThatThrownBy(() -> JudgeScores.parse("3", 0, Double.NaN)).hasMessageContaining("finite");
    }

    @Property(tries = 300)
    void anyReplyGivesEitherNothingOrAScoreInsideTheScale(@ForAll String reply) {
        OptionalDouble s = JudgeScores.parse(reply, 1, 5);
        assertThat(s.isEmpty() || (s.getAsDouble() >= 1 && s.getAsDouble() <= 5)).isTrue();
        OptionalDouble t = JudgeScores.parse("Score: " + reply, 1, 5);
        assertThat(t.isEmpty() || (t.getAsDouble() >= 1 && t.getAsDouble() <= 5)).isTrue();
    }
}
