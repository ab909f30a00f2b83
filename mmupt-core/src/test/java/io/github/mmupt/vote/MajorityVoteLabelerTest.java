package io.github.mmupt.vote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class MajorityVoteLabelerTest {

    private static List<Optional<String>> answers(String... values) {
        List<Optional<String>> out = new ArrayList<>();
        for (String v : values) {
            out.add(Optional.ofNullable(v));
        }
        return out;
    }

    @Test
    void votesAreCountedOverEquivalenceClasses() {
        VoteResult v = MajorityVoteLabeler.standard().label(answers("0.5", "3", "\\frac{1}{2}", "1/2", "3"));
        assertThat(v.label()).contains("0.5");
        assertThat(v.classVotes().toArray()).containsExactly(3, 2);
        assertThat(v.answerClass().toArray()).containsExactly(0, 1, 0, 0, 1);
        assertThat(v.rewards().toArray()).containsExactly(1, 0, 1, 1, 0);
        assertThat(v.voteShare()).isCloseTo(0.6, within(1e-15));
        assertThat(v.distinctAnswers()).isEqualTo(2);
    }

    @Test
    void rawStringVotingWouldHaveChosenTheOtherAnswer() {
        // As raw strings "3" has 2 votes and each form of one half only 1: MM-UPT picks 3.
        List<Optional<String>> a = answers("0.5", "3", "\\frac{1}{2}", "1/2", "3");
        assertThat(MajorityVoteLabeler.mmUptCompatible().label(a).label()).contains("3");
        assertThat(MajorityVoteLabeler.standard().label(a).label()).contains("0.5");
    }

    @Test
    void responsesWithoutAnswerDoNotVoteAndGetZero() {
        VoteResult v = MajorityVoteLabeler.standard().label(answers(null, null, null, "7"));
        assertThat(v.label()).contains("7");
        assertThat(v.rewards().toArray()).containsExactly(0, 0, 0, 1);
        assertThat(v.answerRate()).isEqualTo(0.25);
        assertThat(v.voteShare()).isEqualTo(0.25);
        assertThat(v.answerClass().toArray()).containsExactly(-1, -1, -1, 0);
    }

    @Test
    void mmUptCompatibilityLetsNoneWin() {
        VoteResult v = MajorityVoteLabeler.mmUptCompatible().label(answers(null, null, null, "7"));
        assertThat(v.label()).contains("None");
        assertThat(v.rewards().toArray()).containsExactly(1, 1, 1, 0); // pitfall P1, reproduced on purpose
        assertThat(v.abstained()).isFalse();
    }

    @Test
    void mmUptCompatibilityRewardsEquivalentFormsOfTheLabel() {
        // Votes are raw strings, rewards are by equivalence: "0.5" and "\frac{1}{2}" both earn 1 (reference 2.4).
        VoteResult v = MajorityVoteLabeler.mmUptCompatible().label(answers("0.5", "0.5", "\\frac{1}{2}", "2"));
        assertThat(v.label()).contains("0.5");
        assertThat(v.rewards().toArray()).containsExactly(1, 1, 1, 0);
        assertThat(v.distinctAnswers()).isEqualTo(3);
    }

    @Test
    void noAnswersAtAllAbstains() {
        VoteResult v = MajorityVoteLabeler.standard().label(answers(null, null));
        assertThat(v.abstained()).isTrue();
        assertThat(v.label()).isEmpty();
        assertThat(v.rewards().toArray()).containsOnly(0.0);
        assertThat(v.voteShare()).isZero();
        assertThat(v.distinctAnswers()).isZero();
    }

    @Test
    void lowAgreementAbstainsWhenAMinimumIsSet() {
        List<Optional<String>> a = answers("1", "2", "3", "3", "4");
        MajorityVoteLabeler strict = MajorityVoteLabeler.builder().minAgreement(0.5).build();
        VoteResult v = strict.label(a);
        assertThat(v.abstained()).isTrue();
        assertThat(v.rewards().toArray()).containsOnly(0.0);
        assertThat(v.majorityShare()).isEqualTo(0.4);
        assertThat(MajorityVoteLabeler.builder().minAgreement(0.4).build().label(a).label()).contains("3");
    }

    @Test
    void tiesGoToTheFirstSampledClass() {
        VoteResult v = MajorityVoteLabeler.standard().label(answers("5", "4", "4.0", "5.0"));
        assertThat(v.label()).contains("5");
        assertThat(v.classVotes().toArray()).containsExactly(2, 2);
        VoteResult allDistinct = MajorityVoteLabeler.standard().label(answers("9", "8", "7"));
        assertThat(allDistinct.label()).contains("9");
        assertThat(allDistinct.rewards().toArray()).containsExactly(1, 0, 0);
    }

    @Test
    void softRewardsAreTheOwnAnswersVoteShare() {
        MajorityVoteLabeler soft = MajorityVoteLabeler.builder().rewardMode(RewardMode.SOFT).build();
        VoteResult v = soft.label(answers("2", "2", "3", null, "2"));
        assertThat(v.rewards().toArray()).containsExactly(0.6, 0.6, 0.2, 0.0, 0.6);
        assertThat(v.meanReward()).isCloseTo(0.4, within(1e-15));
    }

    @Test
    void auditMeasuresLabelAndRewardAccuracyWithoutTouchingRewards() {
        MajorityVoteLabeler labeler = MajorityVoteLabeler.standard();
        VoteResult wrongLabel = labeler.label(answers("4", "4", "5", null));
        LabelAudit audit = labeler.audit(wrongLabel, "5");
        assertThat(audit.labelCorrect()).contains(false);
        // rewarded vs correct: 4 -> 1 vs 0, 4 -> 1 vs 0, 5 -> 0 vs 1, none -> 0 vs 0
        assertThat(audit.rewardAccuracy()).isEqualTo(0.25);
        assertThat(audit.goldShare()).isEqualTo(0.25);
        assertThat(wrongLabel.rewards().toArray()).containsExactly(1, 1, 0, 0);

        VoteResult rightLabel = labeler.label(answers("5", "5.0", "4", "5"));
        LabelAudit good = labeler.audit(rightLabel, "\\frac{10}{2}");
        assertThat(good.labelCorrect()).contains(true);
        assertThat(good.rewardAccuracy()).isEqualTo(1.0);
        assertThat(good.goldShare()).isEqualTo(0.75);

        VoteResult abstained = labeler.label(answers(null, null));
        assertThat(labeler.audit(abstained, "5").labelCorrect()).isEmpty();
    }

    @Test
    void badInputIsNamed() {
        assertThatThrownBy(() -> MajorityVoteLabeler.standard().label(List.of()))
                .hasMessageContaining("at least one response");
        assertThatThrownBy(() -> MajorityVoteLabeler.standard().label(Arrays.asList(Optional.of("1"), null)))
                .hasMessageContaining("answer 1 is null");
        assertThatThrownBy(() -> MajorityVoteLabeler.builder().minAgreement(1.5))
                .hasMessageContaining("[0, 1]");
    }

    @Test
    void voteSummaryAveragesOverPrompts() {
        MajorityVoteLabeler labeler = MajorityVoteLabeler.standard();
        VoteResult a = labeler.label(answers("1", "1", "2", "1"));
        VoteResult b = labeler.label(answers(null, null, null, null));
        VoteSummary s = VoteSummary.of(List.of(a, b), List.of(labeler.audit(a, "1"), labeler.audit(b, "3")));
        assertThat(s.prompts()).isEqualTo(2);
        assertThat(s.meanReward()).isCloseTo(3 / 8.0, within(1e-15));
        assertThat(s.meanVoteShare()).isCloseTo(0.375, within(1e-15));
        assertThat(s.answerRate()).isCloseTo(0.5, within(1e-15));
        assertThat(s.abstainedShare()).isEqualTo(0.5);
        assertThat(s.labelAccuracy().getAsDouble()).isEqualTo(1.0); // the abstained prompt has no label to judge
        assertThat(VoteSummary.of(List.of(a), List.of()).labelAccuracy()).isEmpty();
    }

    @Provide
    Arbitrary<List<Optional<String>>> groups() {
        // a small pool with several spellings of the same values, and missing answers
        Arbitrary<Optional<String>> answer = Arbitraries.of(Optional.of("1/2"), Optional.of("0.5"),
                Optional.of("\\frac{1}{2}"), Optional.of("3"), Optional.of("3.0"), Optional.of("7"),
                Optional.of("(A)"), Optional.of("A"), Optional.empty());
        return answer.list().ofMinSize(1).ofMaxSize(12);
    }

    @Property
    void resultIsInvariantUnderPermutationWhenTheWinnerIsUnique(@ForAll("groups") List<Optional<String>> answers,
            @ForAll long seed) {
        MajorityVoteLabeler labeler = MajorityVoteLabeler.standard();
        VoteResult original = labeler.label(answers);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < answers.size(); i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        List<Optional<String>> permuted = order.stream().map(answers::get).toList();
        VoteResult shuffled = labeler.label(permuted);

        assertThat(shuffled.answerRate()).isEqualTo(original.answerRate());
        assertThat(shuffled.distinctAnswers()).isEqualTo(original.distinctAnswers());
        assertThat(shuffled.majorityShare()).isEqualTo(original.majorityShare());
        if (uniqueWinner(original)) {
            assertThat(shuffled.voteShare()).isEqualTo(original.voteShare());
            assertThat(labeler.equivalence().equivalent(shuffled.label().orElseThrow(),
                    original.label().orElseThrow())).isTrue();
            for (int i = 0; i < order.size(); i++) {
                assertThat(shuffled.rewards().get(i)).isEqualTo(original.rewards().get(order.get(i)));
            }
        }
    }

    @Property
    void rewardsAreBinaryAndMatchTheLabelsClass(@ForAll("groups") List<Optional<String>> answers) {
        VoteResult v = MajorityVoteLabeler.standard().label(answers);
        for (int i = 0; i < v.size(); i++) {
            boolean inWinner = !v.abstained() && v.answerClass().get(i) == v.winningClass();
            assertThat(v.rewards().get(i)).isEqualTo(inWinner ? 1.0 : 0.0);
        }
        assertThat(v.meanReward()).isEqualTo(v.voteShare());
    }

    private static boolean uniqueWinner(VoteResult v) {
        if (v.abstained()) {
            return false;
        }
        int top = v.classVotes().get(v.winningClass());
        int count = 0;
        for (int c = 0; c < v.classVotes().length(); c++) {
            if (v.classVotes().get(c) == top) {
                count++;
            }
        }
        return count == 1;
    }
}
