package io.github.mmupt.grpo;

import io.github.mmupt.vote.VoteSummary;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

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
 */
public record StepStats(long step, double rewardMean, VoteSummary votes, LossMetrics loss, List<UpdateResult> updates,
        int responses, double meanResponseLength, double meanLogProb, Map<StepPhase, Duration> phaseTimes) {

    public StepStats {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (votes == null || loss == null || updates == null || phaseTimes == null) {
            throw new IllegalArgumentException("StepStats fields must not be null");
        }
        updates = List.copyOf(updates);
        phaseTimes = phaseTimes.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(phaseTimes));
    }

    /** Total wall time of the step. */
    public Duration totalTime() {
        return phaseTimes.values().stream().reduce(Duration.ZERO, Duration::plus);
    }

    /** Sampled tokens per second of rollout time; 0 when there was none. */
    public double rolloutTokensPerSecond() {
        Duration rollout = phaseTimes.getOrDefault(StepPhase.ROLLOUT, Duration.ZERO);
        double seconds = rollout.toNanos() / 1e9;
        return seconds <= 0 ? 0.0 : responses * meanResponseLength / seconds;
    }

    /** Updates that were skipped for a non-finite gradient. */
    public long skippedUpdates() {
        return updates.stream().filter(UpdateResult::skipped).count();
    }
}
