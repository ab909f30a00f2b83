package io.github.mmupt.continual;

/**
 * Watches a continual run window by window, on the runner's thread (keep it quick, or hand work to another
 * thread). {@link #onWindow} is called after the guards decided and before the decision is carried out, so the
 * optimizer still holds the window's weights: a host can evaluate them (with its own labeled data, for
 * monitoring) before a rollback replaces them.
 */
public interface ContinualListener {

    /**
     * After each window's decision, before it is carried out.
     *
     * @param report the window
     */
    void onWindow(WindowReport report);

    /**
     * Once, when the run ends (stopped, a guard's STOP, or the source exhausted).
     *
     * @param result what the run did
     */
    default void onFinish(ContinualResult result) {
    }
}
