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

    /**
     * Checks the options: threads in [0, 256] (0 = all cores), a known instruction set name or null, chunk tokens
     * 0 (automatic) or a positive multiple of 16.
     *
     * @param threads the component {@code threads}, described with the class
     * @param isa the component {@code isa}, described with the class
     * @param chunkTokens the component {@code chunkTokens}, described with the class
     */
    public KernelOptions {
        if (threads < 0 || threads > 256) {
            throw new IllegalArgumentException("threads must be in [0, 256] (0 = all CPUs), got " + threads);
        }
        if (isa != null && !isa.equals("avx512") && !isa.equals("avx2") && !isa.equals("neon")
                && !isa.equals("generic")) {
            throw new IllegalArgumentException("isa must be avx512, avx2, neon, generic or null (automatic), got "
                    + isa);
        }
        if (chunkTokens < 0 || chunkTokens % 16 != 0) {
            throw new IllegalArgumentException("chunkTokens must be 0 (automatic) or a positive multiple of 16, got "
                    + chunkTokens);
        }
    }

    /**
     * All CPUs, the best instruction set, automatic chunks.
     *
     * @return all cores, the best instruction set of this CPU, automatic chunk size
     */
    public static KernelOptions defaults() {
        return new KernelOptions(0, null, 0);
    }

    /**
     * These options with {@code n} worker threads (0 = one per core).
     *
     * @param n the number of threads
     * @return the changed options
     */
    public KernelOptions withThreads(int n) {
        return new KernelOptions(n, isa, chunkTokens);
    }

    /**
     * These options with an instruction set forced ("avx512", "avx2", "neon" or "generic"); null picks the best.
     *
     * @param name the instruction set
     * @return the changed options
     */
    public KernelOptions withIsa(String name) {
        return new KernelOptions(threads, name, chunkTokens);
    }

    /**
     * These options with a fixed chunk of tokens per pass (a multiple of 16; 0 = chosen from the scratch budget).
     *
     * @param tokens tokens per chunk
     * @return the changed options
     */
    public KernelOptions withChunkTokens(int tokens) {
        return new KernelOptions(threads, isa, tokens);
    }
}
