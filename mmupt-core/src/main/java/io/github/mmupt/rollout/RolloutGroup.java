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

    public RolloutGroup {
        if (prompt == null || rollouts == null) {
            throw new IllegalArgumentException("prompt and rollouts must not be null");
        }
        rollouts = List.copyOf(rollouts);
        if (rollouts.isEmpty()) {
            throw new IllegalArgumentException("prompt " + prompt.id() + ": a group needs at least one rollout");
        }
    }

    public int size() {
        return rollouts.size();
    }

    /** The extracted answers, in sampling order. */
    public List<Optional<String>> answers() {
        return rollouts.stream().map(Rollout::answer).toList();
    }
}
