package com.example.downstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableDoubleArray;
import io.github.mmupt.answer.AnswerEquivalence;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.AdvantageEstimator;
import io.github.mmupt.vote.MajorityVoteLabeler;
import io.github.mmupt.vote.VoteResult;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The README's unit-test example, as a user writes it against the published API. */
class VotingTest {

    @Test
    void majorityVoteGivesPseudoLabelsAndAdvantages() {
        List<String> responses = List.of("3 red + 2 blue = \\boxed{5}", "I count \\boxed{5.0} shapes",
                "there are \\boxed{4}", "no idea");
        List<Optional<String>> answers = responses.stream().map(AnswerExtractor.boxed()::extract).toList();
        assertThat(answers.get(3)).isEmpty();
        assertThat(AnswerEquivalence.standard().equivalent("5", "5.0")).isTrue();
        VoteResult vote = MajorityVoteLabeler.standard().label(answers);
        assertThat(vote.label()).contains("5");
        assertThat(vote.rewards().toArray()).containsExactly(1, 1, 0, 0);
        ImmutableDoubleArray advantages = AdvantageEstimator.grpo().compute(List.of(vote.rewards())).advantages().get(0);
        assertThat(advantages.get(0)).isPositive();
        assertThat(advantages.get(2)).isNegative();
    }
}
