package io.github.mmupt.train;

import io.github.mmupt.grpo.StepStats;
import io.github.mmupt.head.HeadWeights;
import java.time.Duration;
import java.util.List;

/**
 * What a run did.
 *
 * @param steps     the statistics of every step run in this call (a resumed run lists only the new steps)
 * @param finalHead the trained head
 * @param wallTime  time of this call
 */
public record RunResult(List<StepStats> steps, HeadWeights finalHead, Duration wallTime) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param steps the component {@code steps}, described with the class
     * @param finalHead the component {@code finalHead}, described with the class
     * @param wallTime the component {@code wallTime}, described with the class
     */
    public RunResult {
        steps = List.copyOf(steps);
    }

    /**
     * Sampling steps (UPT, supervised GRPO) in which no response had an answer: nothing was learned in them.
     *
     * @return the count
     */
    public long stepsWithoutAnswers() {
        return steps.stream().filter(s -> s.votes().prompts() > 0 && s.votes().answerRate() == 0).count();
    }

    /**
     * Whether this call sampled and not one response had an answer: a format or extractor problem, not learning.
     *
     * @return whether no response answered
     */
    public boolean noResponseAnswered() {
        long sampling = steps.stream().filter(s -> s.votes().prompts() > 0).count();
        return sampling > 0 && stepsWithoutAnswers() == sampling;
    }

    /** {@return updates skipped for a non-finite loss or gradient} */
    public long skippedUpdates() {
        return steps.stream().mapToLong(StepStats::skippedUpdates).sum();
    }
}
