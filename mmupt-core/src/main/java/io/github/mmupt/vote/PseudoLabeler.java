package io.github.mmupt.vote;

import io.github.mmupt.rollout.RolloutGroup;
import java.util.List;
import java.util.Optional;

/**
 * Turns the final answers of one prompt's N sampled responses into a pseudo-label and a reward per response,
 * without any ground truth: the seam where MM-UPT's label-free reward is made.
 *
 * <p>The API has no way to pass a gold answer into labelling; {@link #audit} takes one only to measure a
 * finished {@link VoteResult} (TTRL's label and reward accuracy), so ground truth cannot leak into rewards.
 *
 * <p>Lifecycle and threading: implementations are stateless values, hold no resources and must be safe to
 * call from several threads at once. The same answers in the same order must give the same result.
 *
 * <pre>{@code
 * PseudoLabeler labeler = MajorityVoteLabeler.standard();
 * VoteResult vote = labeler.label(List.of(Optional.of("4"), Optional.of("4.0"), Optional.empty(), Optional.of("5")));
 * vote.label();     // Optional[4]
 * vote.rewards();   // [1.0, 1.0, 0.0, 0.0]
 * }</pre>
 */
public interface PseudoLabeler {

    /**
     * Votes over the answers of one group, in sampling order; {@code Optional.empty()} marks a response with
     * no final answer.
     *
     * @param answers the extracted answer of each response, in sampling order (empty: none)
     * @return the label, classes and rewards
     * @throws IllegalArgumentException when {@code answers} is empty or holds a null
     */
    VoteResult label(List<Optional<String>> answers);

    /**
     * Votes over the extracted answers of a sampled group.
     *
     * @param group the sampled responses
     * @return the label, classes and rewards
     */
    default VoteResult label(RolloutGroup group) {
        return label(group.answers());
    }

    /**
     * Measures a vote against a known gold answer; never used to label.
     *
     * @param vote a vote this labeler made
     * @param goldAnswer the gold answer
     * @return label and reward accuracy
     */
    LabelAudit audit(VoteResult vote, String goldAnswer);
}
