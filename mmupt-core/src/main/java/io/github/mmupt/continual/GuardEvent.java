package io.github.mmupt.continual;

/**
 * One guard's verdict on one window: the signal's deviation, the threshold, and whether it fired.
 *
 * @param guard the guard
 * @param value the signal's deviation (NaN when it could not be computed: never fires)
 * @param fired whether the deviation was above the threshold
 */
public record GuardEvent(Guard guard, double value, boolean fired) {

    /**
     * Checks the components; the class description gives the range of each.
     *
     * @param guard the component {@code guard}, described with the class
     * @param value the component {@code value}, described with the class
     * @param fired the component {@code fired}, described with the class
     */
    public GuardEvent {
        if (guard == null) {
            throw new IllegalArgumentException("a guard event needs its guard");
        }
    }
}
