package io.github.mmupt.continual;

/**
 * One guard: a signal, the deviation at which it fires, and what the run then does.
 *
 * <pre>{@code
 * Guard flips = new Guard(Signal.PROBE_FLIPS, 0.20, GuardAction.ROLLBACK);
 * }</pre>
 *
 * @param signal    what it watches
 * @param threshold it fires when the signal's deviation is above this (finite)
 * @param action    what the run does when it fires
 */
public record Guard(Signal signal, double threshold, GuardAction action) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param signal the component {@code signal}, described with the class
     * @param threshold the component {@code threshold}, described with the class
     * @param action the component {@code action}, described with the class
     */
    public Guard {
        if (signal == null || action == null) {
            throw new IllegalArgumentException("a guard needs a signal and an action");
        }
        if (!Double.isFinite(threshold)) {
            throw new IllegalArgumentException("the threshold of the " + signal + " guard must be finite, got " + threshold);
        }
    }
}
