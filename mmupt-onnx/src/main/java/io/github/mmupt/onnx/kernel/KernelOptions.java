package io.github.mmupt.onnx.kernel;

/**
 * How the native kernel runs.
 *
 * @param threads     worker threads, &gt;= 0; 0 uses every online CPU. Results are deterministic for a given
 *                    thread count (the vocabulary is split into that many fixed partitions), and differ in the
 *                    last bits between thread counts.
 * @param isa         the instruction set: {@code "avx512"}, {@code "avx2"}, {@code "generic"}, or {@code null}
 *                    for the best the CPU supports
 * @param chunkTokens tokens per chunk in train mode, a multiple of 16, or 0 for automatic: the largest multiple
 *                    of 16 whose logits fit in 5% of a naive [T x V] buffer (at least 16). Larger chunks read
 *                    the head fewer times and use more memory.
 */
public record KernelOptions(int threads, String isa, int chunkTokens) {

    public KernelOptions {
        if (threads < 0 || threads > 256) {
            throw new IllegalArgumentException("threads must be in [0, 256] (0 = all CPUs), got " + threads);
        }
        if (isa != null && !isa.equals("avx512") && !isa.equals("avx2") && !isa.equals("generic")) {
            throw new IllegalArgumentException("isa must be avx512, avx2, generic or null (automatic), got " + isa);
        }
        if (chunkTokens < 0 || chunkTokens % 16 != 0) {
            throw new IllegalArgumentException("chunkTokens must be 0 (automatic) or a positive multiple of 16, got "
                    + chunkTokens);
        }
    }

    /** All CPUs, the best instruction set, automatic chunks. */
    public static KernelOptions defaults() {
        return new KernelOptions(0, null, 0);
    }

    public KernelOptions withThreads(int n) {
        return new KernelOptions(n, isa, chunkTokens);
    }

    public KernelOptions withIsa(String name) {
        return new KernelOptions(threads, name, chunkTokens);
    }

    public KernelOptions withChunkTokens(int tokens) {
        return new KernelOptions(threads, isa, tokens);
    }
}
