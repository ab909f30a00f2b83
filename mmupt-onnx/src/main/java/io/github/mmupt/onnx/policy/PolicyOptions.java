package io.github.mmupt.onnx.policy;

/**
 * How an {@link OnnxPolicy} runs its sessions.
 *
 * @param provider       CPU (default), AUTO (CUDA when present) or CUDA
 * @param intraOpThreads ONNX Runtime's intra-op threads, &gt;= 1; default 1 so the trunk does not compete with
 *                       the head kernel's threads on a small machine (worker spinning is always disabled)
 */
public record PolicyOptions(ExecutionProvider provider, int intraOpThreads) {

    public PolicyOptions {
        if (provider == null) {
            throw new IllegalArgumentException("provider must not be null");
        }
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
    }

    public static PolicyOptions defaults() {
        return new PolicyOptions(ExecutionProvider.CPU, 1);
    }

    public PolicyOptions withProvider(ExecutionProvider p) {
        return new PolicyOptions(p, intraOpThreads);
    }

    public PolicyOptions withIntraOpThreads(int n) {
        return new PolicyOptions(provider, n);
    }
}
