package io.github.mmupt.vote;

/**
 * How a response's reward follows from the vote.
 *
 * <ul>
 *   <li>{@link #BINARY} (default; MM-UPT, TTRL): 1 when the response's answer is in the winning class,
 *       else 0.</li>
 *   <li>{@link #SOFT} (SRT's {@code soft_reward}): the vote share of the response's own answer class, so a
 *       minority answer still earns a little and a near-unanimous answer earns nearly 1.</li>
 * </ul>
 * A response with no answer, and every response of an abstained prompt, gets 0 in both modes.
 */
public enum RewardMode {
    /** 1 for the winning class, 0 otherwise. */
    BINARY {
        @Override
        double reward(int ownClassVotes, boolean inWinningClass, int groupSize) {
            return inWinningClass ? 1.0 : 0.0;
        }
    },
    /** The vote share of the response's own class. */
    SOFT {
        @Override
        double reward(int ownClassVotes, boolean inWinningClass, int groupSize) {
            return (double) ownClassVotes / groupSize;
        }
    };

    /** The reward of an answered response of a labelled (not abstained) prompt. */
    abstract double reward(int ownClassVotes, boolean inWinningClass, int groupSize);
}
