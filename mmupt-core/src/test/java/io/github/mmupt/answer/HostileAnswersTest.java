package io.github.mmupt.answer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.VoteResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Model output at its worst: megabyte answers, pathological digit and letter runs, huge tuples, many distinct
 * answers. Each call must return, with the right verdict; the timeouts are generous guards against a hang (the
 * quadratic paths these replace took hours at these sizes), not speed targets: {@code AnswerBenchmark} in
 * mmupt-examples measures the time.
 */
class HostileAnswersTest {

    private static final Duration GUARD = Duration.ofSeconds(20);
    private static final int MEGABYTE = 1 << 20;

    private static boolean eq(String a, String b) {
        return assertTimeoutPreemptively(GUARD, () -> AnswerEquivalence.standard().equivalent(a, b));
    }

    private static boolean eqMathRuler(String a, String b) {
        return assertTimeoutPreemptively(GUARD, () -> AnswerEquivalence.mathRulerCompatible().equivalent(a, b));
    }

    @Test
    void longDigitAndLetterRunsAreBounded() {
        String digits = "1".repeat(MEGABYTE);
        assertThat(eq(digits + "x", digits + "y")).isFalse();
        assertThat(eq(digits, digits + " ")).isTrue();
        assertThat(eqMathRuler(digits + "x", "1")).isFalse();
        String letters = "5 " + "a".repeat(MEGABYTE);
        assertThat(eq(letters, "5")).isFalse();
        assertThat(eq("5 " + "ab ".repeat(300), "5")).as("a long unit phrase within the structured size").isTrue();
        assertThat(eq("1" + "1".repeat(900) + "x", "1")).isFalse();
        assertThat(eq("1".repeat(990), "1".repeat(990) + ".0")).isTrue();
    }

    @Test
    void hugeTuplesAndSetsAreBounded() {
        StringBuilder tuple = new StringBuilder("(");
        StringBuilder reversed = new StringBuilder();
        for (int i = 0; i < 300_000; i++) {
            tuple.append(i == 0 ? "" : ",").append(i);
        }
        tuple.append(')');
        assertThat(eq(tuple.toString(), tuple.toString().replace(",", ", "))).isTrue();
        assertThat(eq(tuple.toString(), tuple.toString().replace("(0,", "(1,"))).isFalse();
        // a set of up to the structured size, in another order: matched through keys, not pairwise
        StringBuilder set = new StringBuilder("\\{");
        for (int i = 0; i < 150; i++) {
            set.append(i == 0 ? "" : ",").append(i);
            reversed.append(i == 0 ? "" : ",").append(149 - i);
        }
        set.append("\\}");
        assertThat(eq(set.toString(), "\\{" + reversed + "\\}")).isTrue();
        assertThat(eq(set.toString(), "\\{" + reversed.toString().replace("149", "150") + "\\}")).isFalse();
        // irrational elements compared pairwise, in any order
        assertThat(eq("\\{\\sqrt{2}, \\sqrt{3}, \\pi\\}", "\\{\\pi, \\sqrt{3}, \\sqrt{2}\\}")).isTrue();
        assertThat(eq("\\{\\sqrt{2}, 1/2\\}", "\\{0.5, \\sqrt{8}/2\\}")).isTrue();
    }

    @Test
    void identicalMillionDigitNumbersAndNearlyIdenticalOnes() {
        String big = "9".repeat(MEGABYTE);
        assertThat(eq(big, new String(big.toCharArray()))).isTrue();
        assertThat(eq(big, big.substring(1) + "8")).isFalse();
        assertThat(eq(big + ".0", big)).as("beyond the structured size: compared as text").isFalse();
        String spaced = "1 ".repeat(600);
        assertThat(eq(spaced, "1".repeat(600))).as("text without white space, whatever the sizes").isTrue();
    }

    @Test
    void extractionIsLinearOnHostileResponses() {
        AnswerExtractor all = AnswerExtractor.builder().answerTags(true).answerIsPhrase(true).build();
        String unclosedTags = "<answer>".repeat(MEGABYTE / 8);
        assertThat(assertTimeoutPreemptively(GUARD, () -> all.extract(unclosedTags))).isEmpty();
        String manyCloses = "<answer> 7 </answer>" + "</answer>x".repeat(MEGABYTE / 10);
        assertThat(assertTimeoutPreemptively(GUARD, () -> all.extract(manyCloses))).contains("7");
        String boxes = "\\boxed{".repeat(MEGABYTE / 7);
        assertThat(assertTimeoutPreemptively(GUARD, () -> all.extract(boxes))).isEmpty();
        // lower-casing changes the length of some characters; the phrase must still be found where it is
        assertThat(all.extract("\u0130\u0130\u0130 the answer is 42.")).contains("42");
    }

    @Test
    void votingOverManyLongOrDistinctAnswersIsBounded() {
        List<Optional<String>> longAnswers = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            longAnswers.add(Optional.of(i % 3 + "x".repeat(2000) + i % 7));
        }
        VoteResult v = assertTimeoutPreemptively(GUARD, () -> MajorityVoteLabeler.standard().label(longAnswers));
        assertThat(v.classVotes().length()).isEqualTo(21);

        List<Optional<String>> expressions = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            expressions.add(Optional.of("\\sqrt{" + (i + 2) + "} + x^" + (i % 5 + 1)));
        }
        expressions.add(Optional.of("\\sqrt{2} + x"));
        expressions.add(Optional.of("\\sqrt{2}+x")); // shares a key with the one before: same class
        expressions.add(Optional.of("x + \\sqrt{2}")); // needs a pairwise check, and the budget is spent
        VoteResult distinct = assertTimeoutPreemptively(GUARD, () -> MajorityVoteLabeler.standard().label(expressions));
        assertThat(distinct.classVotes().length()).isEqualTo(2002);
        assertThat(distinct.answerClass().get(2000)).isEqualTo(distinct.answerClass().get(2001));

        // the usual case still clusters equivalent answers however they are written
        VoteResult usual = MajorityVoteLabeler.standard().label(List.of(Optional.of("0.5"), Optional.of("\\frac{1}{2}"),
                Optional.of("1/2"), Optional.of("\\sqrt{2}/2"), Optional.of("\\frac{\\sqrt{2}}{2}"), Optional.of("3")));
        assertThat(usual.label()).contains("0.5");
        assertThat(usual.classVotes().toArray()).containsExactly(3, 2, 1);
    }
}
