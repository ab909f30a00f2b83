package io.github.mmupt.continual;

import java.util.List;
import java.util.OptionalLong;

/**
 * What a continual run did.
 *
 * @param windows   the reports of the trained windows, in order (the newest {@value ContinualRunner#MAX_REPORTS} of a
 *                  longer run; {@code guardrails.jsonl} has them all)
 * @param steps     training steps completed (over all runs of this store, counting from its first version)
 * @param published versions published by this run, in order
 * @param rollbacks rollbacks carried out
 * @param current   the version current at the end
 * @param best      the best version at the end
 * @param reason    why the run ended
 */
public record ContinualResult(List<WindowReport> windows, long steps, List<Long> published, int rollbacks,
        OptionalLong current, OptionalLong best, EndReason reason) {

    /** Why a continual run ended. */
    public enum EndReason {
        /** {@link ContinualRunner#stop()} was called or the runner's thread was interrupted. */
        STOPPED,
        /** A guard's action was STOP, or the maximum number of rollbacks was reached. */
        GUARD_STOP,
        /** The source has no more examples (a finite iterator). */
        SOURCE_EXHAUSTED,
        /** The run reached its configured maximum number of windows. */
        MAX_WINDOWS
    }

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param windows the component {@code windows}, described with the class
     * @param steps the component {@code steps}, described with the class
     * @param published the component {@code published}, described with the class
     * @param rollbacks the component {@code rollbacks}, described with the class
     * @param current the component {@code current}, described with the class
     * @param best the component {@code best}, described with the class
     * @param reason the component {@code reason}, described with the class
     */
    public ContinualResult {
        if (windows == null || published == null || current == null || best == null || reason == null) {
            throw new IllegalArgumentException("every part of a continual result is required");
        }
        windows = List.copyOf(windows);
        published = List.copyOf(published);
    }
}
