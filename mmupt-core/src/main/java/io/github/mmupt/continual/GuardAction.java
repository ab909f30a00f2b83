package io.github.mmupt.continual;

/**
 * What a continual run does when a guard fires, from the mildest to the most severe; when several fire, the most
 * severe wins. The first two still publish the window's version; the others do not.
 */
public enum GuardAction {
    /** Log it and publish the version as usual. */
    WARN,
    /** Publish, and multiply the learning rate by the runner's lowering factor for the windows that follow. */
    LOWER_LEARNING_RATE,
    /** Do not publish this window's version; keep training from it. */
    HOLD,
    /**
     * Do not publish; restore the best version's weights and optimizer state bit for bit, make it current again if
     * it is not, and lower the learning rate. After the runner's maximum number of rollbacks, stop instead.
     */
    ROLLBACK,
    /** Roll back to the best version, make it current, and stop the run. */
    STOP;

    /** {@return whether the window's version is published under this action} */
    public boolean publishes() {
        return this == WARN || this == LOWER_LEARNING_RATE;
    }
}
