package io.github.mmupt.grpo;

import io.github.mmupt.judge.JudgeSummary;
import io.github.mmupt.vote.VoteSummary;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one self-improvement step did: its votes, its loss, its optimizer updates and where the time went.
 *
 * @param step               0-based index of the step
 * @param rewardMean         mean reward trained on (pseudo-rewards in UPT, gold rewards in supervised GRPO; NaN in
 *                           SFT, which has none)
 * @param votes              voting statistics over the step's prompts (empty in SFT)
 * @param loss               loss statistics summed over all micro-batches and iterations
 * @param updates            the optimizer updates, in order
 * @param responses          number of responses sampled
 * @param meanResponseLength mean response length in tokens
 * @param meanLogProb        mean log-prob of the trained tokens under the head before this step's updates (at the
 *                           loss temperature); in SFT its negative is the cross-entropy. NaN when nothing was trained
 * @param phaseTimes         wall time per phase
 * @param judge              what the judge made of the responses (SRLM, or UPT with a judge); empty without one
 */
public record StepStats(long step, double rewardMean, VoteSummary votes, LossMetrics loss, List<UpdateResult> updates,
        int responses, double meanResponseLength, double meanLogProb, Map<StepPhase, Duration> phaseTimes,
        Optional<JudgeSummary> judge) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param step the component {@code step}, described with the class
     * @param rewardMean the component {@code rewardMean}, described with the class
     * @param votes the component {@code votes}, described with the class
     * @param loss the component {@code loss}, described with the class
     * @param updates the component {@code updates}, described with the class
     * @param responses the component {@code responses}, described with the class
     * @param meanResponseLength the component {@code meanResponseLength}, described with the class
     * @param meanLogProb the component {@code meanLogProb}, described with the class
     * @param phaseTimes the component {@code phaseTimes}, described with the class
     * @param judge the component {@code judge}, described with the class
     */
    public StepStats {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (votes == null || loss == null || updates == null || phaseTimes == null || judge == null) {
            throw new IllegalArgumentException("StepStats fields must not be null");
        }
        updates = List.copyOf(updates);
        phaseTimes = phaseTimes.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(phaseTimes));
    }

    /**
     * A step without a judge.
     *
     * @param step the step
     * @param rewardMean the mean reward
     * @param votes the votes
     * @param loss the loss
     * @param updates the updates
     * @param responses the responses sampled
     * @param meanResponseLength their mean length
     * @param meanLogProb the mean log-prob trained on
     * @param phaseTimes the time per phase
     */
    public StepStats(long step, double rewardMean, VoteSummary votes, LossMetrics loss, List<UpdateResult> updates,
            int responses, double meanResponseLength, double meanLogProb, Map<StepPhase, Duration> phaseTimes) {
        this(step, rewardMean, votes, loss, updates, responses, meanResponseLength, meanLogProb, phaseTimes,
                Optional.empty());
    }

    /**
     * Total wall time of the step.
     *
     * @return the sum of the phases
     */
    public Duration totalTime() {
        return phaseTimes.values().stream().reduce(Duration.ZERO, Duration::plus);
    }

    /**
     * Sampled tokens per second of rollout time; 0 when there was none.
     *
     * @return sampled tokens per second of rollout
     */
    public double rolloutTokensPerSecond() {
        Duration rollout = phaseTimes.getOrDefault(StepPhase.ROLLOUT, Duration.ZERO);
        double seconds = rollout.toNanos() / 1e9;
        return seconds <= 0 ? 0.0 : responses * meanResponseLength / seconds;
    }

    /** {@return updates that were skipped for a non-finite gradient} */
    public long skippedUpdates() {
        return updates.stream().filter(UpdateResult::skipped).count();
    }
}
