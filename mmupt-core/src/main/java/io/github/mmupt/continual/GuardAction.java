package io.github.mmupt.continual;

/**
 * What a continual run does when a guard fires, from the mildest to the most severe; when several fire, the most
 * severe wins. The first two still accept the window's version (staged, and published once the window after it
 * passes too); the others do not.
 */
public enum GuardAction {
    /** Log it and accept the version as usual. */
    WARN,
    /** Accept the version, and multiply the learning rate by the runner's lowering factor for the windows that follow. */
    LOWER_LEARNING_RATE,
    /** Do not accept this window's version; keep training from it (a pending version stays pending). */
    HOLD,
    /**
     * Do not accept; discard the pending version; restore the best version's weights and optimizer state bit for bit, make it current again if
     * it is not, and lower the learning rate. After the runner's maximum number of rollbacks, stop instead.
     */
    ROLLBACK,
    /** Roll back to the best version, make it current, and stop the run. */
    STOP;

    /** {@return whether the window's version is accepted under this action} */
    public boolean publishes() {
        return this == WARN || this == LOWER_LEARNING_RATE;
    }
}
