package io.github.mmupt.vote;

import java.util.Optional;

/**
 * How good a pseudo-label was, measured against a gold answer that played no part in making it (TTRL's
 * monitoring metrics). Aggregate these over prompts to see confirmation bias as it happens: reward accuracy
 * usually stays high even while label accuracy falls, because most wrong answers still get a correct 0.
 *
 * @param labelCorrect   whether the pseudo-label is equivalent to the gold answer; empty when the prompt was
 *                       abstained (no label to judge)
 * @param rewardAccuracy share of responses whose pseudo-reward agrees with the reward the gold answer would
 *                       have given (rewarded, meaning reward above 0, versus correct)
 * @param goldShare      share of responses whose answer is equivalent to the gold answer (the group's
 *                       pass rate; TTRL's ground_truth_ratio)
 */
public record LabelAudit(Optional<Boolean> labelCorrect, double rewardAccuracy, double goldShare) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param labelCorrect the component {@code labelCorrect}, described with the class
     * @param rewardAccuracy the component {@code rewardAccuracy}, described with the class
     * @param goldShare the component {@code goldShare}, described with the class
     */
    public LabelAudit {
        if (labelCorrect == null) {
            throw new IllegalArgumentException("labelCorrect must not be null; use Optional.empty()");
        }
        checkShare("rewardAccuracy", rewardAccuracy);
        checkShare("goldShare", goldShare);
    }

    private static void checkShare(String name, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], got " + value);
        }
    }
}
