package io.github.mmupt.onnx.policy;

/**
 * How an {@link OnnxPolicy} runs its sessions.
 *
 * @param provider       CPU (default), AUTO (CUDA when present) or CUDA
 * @param intraOpThreads ONNX Runtime's intra-op threads, &gt;= 1; default 1 so the trunk does not compete with
 *                       the head kernel's threads on a small machine (worker spinning is always disabled)
 * @param runListener    told how long each graph run took (default: nobody)
 */
public record PolicyOptions(ExecutionProvider provider, int intraOpThreads, RunListener runListener) {

    /**
     * Checks the options: a provider, and at least one intra-op thread.
     *
     * @param provider the component {@code provider}, described with the class
     * @param intraOpThreads the component {@code intraOpThreads}, described with the class
     * @param runListener the component {@code runListener}, described with the class
     */
    public PolicyOptions {
        if (provider == null || runListener == null) {
            throw new IllegalArgumentException("provider and runListener must not be null");
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
    }

    /** {@return the CPU provider with one intra-op thread and no run listener} */
    public static PolicyOptions defaults() {
        return new PolicyOptions(ExecutionProvider.CPU, 1, RunListener.NONE);
    }

    /**
     * These options with another execution provider.
     *
     * @param p the provider
     * @return the changed options
     */
    public PolicyOptions withProvider(ExecutionProvider p) {
        return new PolicyOptions(p, intraOpThreads, runListener);
    }

    /**
     * These options with another number of intra-op threads (at least 1).
     *
     * @param n the threads
     * @return the changed options
     */
    public PolicyOptions withIntraOpThreads(int n) {
        return new PolicyOptions(provider, n, runListener);
    }

    /**
     * These options with a listener told about every graph run.
     *
     * @param listener the listener
     * @return the changed options
     */
    public PolicyOptions withRunListener(RunListener listener) {
        return new PolicyOptions(provider, intraOpThreads, listener);
    }
}
