package io.github.mmupt.onnx.policy;

import io.github.mmupt.onnx.lora.LoraSettings;
import java.util.Optional;

/**
 * How an {@link OnnxPolicy} runs its sessions.
 *
 * @param provider       CPU (default), AUTO (CUDA when present) or CUDA
 * @param intraOpThreads ONNX Runtime's intra-op threads, &gt;= 1; default 1 so the trunk does not compete with
 *                       the head kernel's threads on a small machine (worker spinning is always disabled)
 * @param runListener    told how long each graph run took (default: nobody)
 * @param kvCacheBudgetBytes the most bytes the KV cache of one decoding batch may take, counting the past and the
 *                       present that coexist during a step; 0 (the default) means half the machine's physical
 *                       memory, at most 8 GiB. A group that cannot fit is refused before sampling starts.
 * @param lora           LoRA adapters on the decoder's projections, trained with the head (default: none, a frozen
 *                       trunk): the decoder is rewritten at open to take them as inputs, and a gradient graph is
 *                       derived from it for their training
 */
public record PolicyOptions(ExecutionProvider provider, int intraOpThreads, RunListener runListener,
        long kvCacheBudgetBytes, Optional<LoraSettings> lora) {

    /** The most the default KV-cache budget grants: 8 GiB. */
    public static final long MAX_DEFAULT_KV_BUDGET = 8L << 30;

    /**
     * Checks the options: a provider, and at least one intra-op thread.
     *
     * @param provider the component {@code provider}, described with the class
     * @param intraOpThreads the component {@code intraOpThreads}, described with the class
     * @param runListener the component {@code runListener}, described with the class
     * @param kvCacheBudgetBytes the component {@code kvCacheBudgetBytes}, described with the class
     * @param lora the component {@code lora}, described with the class
     */
    public PolicyOptions {
        if (provider == null || runListener == null || lora == null) {
            throw new IllegalArgumentException("provider, runListener and lora (Optional) must not be null");
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
        if (kvCacheBudgetBytes < 0) {
            throw new IllegalArgumentException("kvCacheBudgetBytes must be >= 0 (0: the default), got "
                    + kvCacheBudgetBytes);
        }
    }

    /**
     * The KV-cache budget in force: the configured one, or half the physical memory, at most
     * {@link #MAX_DEFAULT_KV_BUDGET}.
     *
     * @return bytes
     */
    public long effectiveKvCacheBudget() {
        if (kvCacheBudgetBytes > 0) {
            return kvCacheBudgetBytes;
        }
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.min(MAX_DEFAULT_KV_BUDGET, os.getTotalMemorySize() / 2);
        }
        return MAX_DEFAULT_KV_BUDGET;
    }

    /** {@return the CPU provider with one intra-op thread and no run listener} */
    public static PolicyOptions defaults() {
        return new PolicyOptions(ExecutionProvider.CPU, 1, RunListener.NONE, 0, Optional.empty());
    }

    /**
     * These options with another execution provider.
     *
     * @param p the provider
     * @return the changed options
     */
    public PolicyOptions withProvider(ExecutionProvider p) {
        return new PolicyOptions(p, intraOpThreads, runListener, kvCacheBudgetBytes, lora);
    }

    /**
     * These options with another number of intra-op threads (at least 1).
     *
     * @param n the threads
     * @return the changed options
     */
    public PolicyOptions withIntraOpThreads(int n) {
        return new PolicyOptions(provider, n, runListener, kvCacheBudgetBytes, lora);
    }

    /**
     * These options with a listener told about every graph run.
     *
     * @param listener the listener
     * @return the changed options
     */
    public PolicyOptions withRunListener(RunListener listener) {
        return new PolicyOptions(provider, intraOpThreads, listener, kvCacheBudgetBytes, lora);
    }

    /**
     * These options with a KV-cache budget for a decoding batch (0: the default).
     *
     * @param bytes the budget
     * @return the changed options
     */
    public PolicyOptions withKvCacheBudget(long bytes) {
        return new PolicyOptions(provider, intraOpThreads, runListener, bytes, lora);
    }

    /**
     * These options with LoRA adapters on the decoder, trained with the head.
     *
     * @param settings which projections, the rank, alpha, learning-rate scale and seed
     * @return the changed options
     */
    public PolicyOptions withLora(LoraSettings settings) {
        return new PolicyOptions(provider, intraOpThreads, runListener, kvCacheBudgetBytes, Optional.of(settings));
    }
}
