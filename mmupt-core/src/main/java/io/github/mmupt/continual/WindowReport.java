package io.github.mmupt.continual;

import java.util.OptionalLong;

/**
 * One window of a continual run as its listeners see it: the signals, the guards' decision and the state of
 * the versions before the decision is carried out.
 *
 * @param signals      the window's signals
 * @param decision     the guards' decision
 * @param learningRate the learning rate the window trained with
 * @param current      the version being served before the decision (empty before the first publish)
 * @param best         the version a rollback returns to
 */
public record WindowReport(WindowSignals signals, GuardDecision decision, double learningRate, OptionalLong current,
        OptionalLong best) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param signals the component {@code signals}, described with the class
     * @param decision the component {@code decision}, described with the class
     * @param learningRate the component {@code learningRate}, described with the class
     * @param current the component {@code current}, described with the class
     * @param best the component {@code best}, described with the class
     */
    public WindowReport {
        if (signals == null || decision == null || current == null || best == null) {
            throw new IllegalArgumentException("every part of a window report is required");
        }
    }
}
