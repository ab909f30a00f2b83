package io.github.mmupt.rollout;

import io.github.mmupt.prompt.Prompt;
import java.util.List;
import java.util.Optional;

/**
 * The N responses sampled for one prompt, in sampling order. A group is the unit of voting and of
 * advantage normalization; keeping its responses together in one object is what prevents MM-UPT's
 * pitfall P6 (rewards computed over a batch whose groups were silently mixed).
 *
 * @param prompt   the prompt all responses answer
 * @param rollouts the responses, at least one
 */
public record RolloutGroup(Prompt prompt, List<Rollout> rollouts) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param prompt the component {@code prompt}, described with the class
     * @param rollouts the component {@code rollouts}, described with the class
     */
    public RolloutGroup {
        if (prompt == null || rollouts == null) {
            throw new IllegalArgumentException("prompt and rollouts must not be null");
        }
        rollouts = List.copyOf(rollouts);
        if (rollouts.isEmpty()) {
            throw new IllegalArgumentException("prompt " + prompt.id() + ": a group needs at least one rollout");
        }
    }

    /** {@return N, the responses} */
    public int size() {
        return rollouts.size();
    }

    /** {@return the extracted answers, in sampling order} */
    public List<Optional<String>> answers() {
        return rollouts.stream().map(Rollout::answer).toList();
    }
}
