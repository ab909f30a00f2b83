package io.github.mmupt.continual;

import io.github.mmupt.grpo.StepStats;
import java.util.List;
import java.util.OptionalDouble;

/**
 * The label-free signals of one window of a continual run (means over its steps), the probe set's reading
 * after it, and, where the user supplied one, the canary set's accuracy.
 *
 * @param window          the window's number (0 is the starting model, before any training)
 * @param endStep         steps completed at the end of the window
 * @param voteShare       mean vote share of the pseudo-labels
 * @param distinctAnswers mean number of distinct answers per prompt
 * @param answerRate      share of responses with an answer
 * @param entropy         mean token entropy of the trained responses
 * @param responseLength  mean response length in tokens
 * @param kl              mean KL to the reference head (0 without a KL term)
 * @param probe           the probe set's reading after the window
 * @param canaryAccuracy  the canary set's majority-vote accuracy after the window; empty without a canary set
 */
public record WindowSignals(long window, long endStep, double voteShare, double distinctAnswers, double answerRate,
        double entropy, double responseLength, double kl, ProbeReading probe, OptionalDouble canaryAccuracy) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param window the component {@code window}, described with the class
     * @param endStep the component {@code endStep}, described with the class
     * @param voteShare the component {@code voteShare}, described with the class
     * @param distinctAnswers the component {@code distinctAnswers}, described with the class
     * @param answerRate the component {@code answerRate}, described with the class
     * @param entropy the component {@code entropy}, described with the class
     * @param responseLength the component {@code responseLength}, described with the class
     * @param kl the component {@code kl}, described with the class
     * @param probe the component {@code probe}, described with the class
     * @param canaryAccuracy the component {@code canaryAccuracy}, described with the class
     */
    public WindowSignals {
        if (probe == null || canaryAccuracy == null) {
            throw new IllegalArgumentException("probe and canaryAccuracy must not be null (use OptionalDouble.empty())");
        }
    }

    /**
     * The signals of a window from its steps' statistics; NaN training signals for the starting model.
     *
     * @param window the window's number
     * @param endStep steps completed
     * @param steps the window's steps (empty for window 0)
     * @param probe the probe reading after it
     * @param canaryAccuracy the canary accuracy after it, if any
     * @return the signals
     */
    public static WindowSignals of(long window, long endStep, List<StepStats> steps, ProbeReading probe,
            OptionalDouble canaryAccuracy) {
        return new WindowSignals(window, endStep, mean(steps, s -> s.votes().meanVoteShare()),
                mean(steps, s -> s.votes().meanDistinctAnswers()), mean(steps, s -> s.votes().answerRate()),
                mean(steps, s -> s.loss().entropyMean()), mean(steps, StepStats::meanResponseLength),
                mean(steps, s -> s.loss().klMean()), probe, canaryAccuracy);
    }

    private static double mean(List<StepStats> steps, java.util.function.ToDoubleFunction<StepStats> f) {
        return steps.stream().mapToDouble(f).filter(Double::isFinite).average().orElse(Double.NaN);
    }
}
