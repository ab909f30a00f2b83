package io.github.mmupt.onnx.kernel;

/**
 * How the native kernel runs.
 *
 * <p>The bf16 path ({@code isa = "avx512bf16"}, or {@link #withBf16Products()}) is opt-in, for CPUs with
 * AVX512-BF16: it multiplies bf16 copies of W, the hidden states and the logit gradients with fp32
 * accumulation (1.5 to 1.7 times the fp32 kernel's train-mode throughput on the benchmark's shapes), while the
 * master weights, AdamW's moments, the log-sum-exp and the LoRA factors stay fp32. The bf16 copy of W is
 * refreshed after every update; with its row-pair layout (for dh) it costs as much memory as W again.
 * Sampling and training read the same copy, so the first PPO ratio is still exactly 1. Its price is rounding: at the benchmark's scales (d = 256) log-probs
 * are within 4.3e-3 of the double-precision reference and gradients within 0.6% of their largest entry, against
 * 1e-6 in fp32 (the kernel's C tests measure and bound both).
 *
 * <pre>{@code
 * KernelOptions fast = KernelOptions.defaults().withBf16Products();
 * }</pre>
 *
 * @param threads     worker threads, &gt;= 0; 0 uses every online CPU. Results do not depend on it: the
 *                    vocabulary is cut into partitions fixed by the head's shape and every sum is taken in a
 *                    fixed order, so 1, 2 or 16 threads give bit-identical log-probs, gradients and weights.
 * @param isa         the instruction set: {@code "avx512"}, {@code "avx2"}, {@code "neon"}, {@code "generic"},
 *                    {@code "avx512bf16"} (opt-in, see above), or {@code null} for the best fp32 set the CPU
 *                    supports. Results differ in the last bits between instruction sets.
 * @param chunkTokens tokens per chunk in train mode, a multiple of 16, or 0 for automatic: the largest multiple
 *                    of 16 whose logits fit in 10% of a naive [T x V] logits buffer, at least 16 and at most
 *                    1024 (below T = 160 the 16-token floor makes it 16 / T: 16% at T = 100). Larger chunks
 *                    read the head fewer times and use more memory; 5%, the earlier cap, cost a quarter of
 *                    the throughput at T = 512 (16-token chunks).
 * @param memoryLimitBytes the most native memory a head may take, checked before anything is allocated
 *                    ({@link NativeHead#bytesNeeded}); 0, the default, uses what the machine has available
 *                    (Linux's MemAvailable, lowered to a cgroup's remaining limit)
 */
public record KernelOptions(int threads, String isa, int chunkTokens, long memoryLimitBytes) {

    /**
     * Checks the options: threads in [0, 256] (0 = all cores), a known instruction set name or null, chunk tokens
     * 0 (automatic) or a positive multiple of 16.
     *
     * @param threads the component {@code threads}, described with the class
     * @param isa the component {@code isa}, described with the class
     * @param chunkTokens the component {@code chunkTokens}, described with the class
     * @param memoryLimitBytes the component {@code memoryLimitBytes}, described with the class
     */
    public KernelOptions {
        if (threads < 0 || threads > 256) {
            throw new IllegalArgumentException("threads must be in [0, 256] (0 = all CPUs), got " + threads);
        }
        if (isa != null && !isa.equals("avx512bf16") && !isa.equals("avx512") && !isa.equals("avx2")
                && !isa.equals("neon") && !isa.equals("generic")) {
            throw new IllegalArgumentException("isa must be avx512bf16, avx512, avx2, neon, generic or null "
                    + "(automatic), got " + isa);
        }
        if (chunkTokens < 0 || chunkTokens % 16 != 0) {
            throw new IllegalArgumentException("chunkTokens must be 0 (automatic) or a positive multiple of 16, got "
                    + chunkTokens);
        }
        if (memoryLimitBytes < 0) {
            throw new IllegalArgumentException("memoryLimitBytes must be >= 0 (0 = what the machine has available), got "
                    + memoryLimitBytes);
        }
    }

    /**
     * Options with {@code threads}, {@code isa} and {@code chunkTokens} and no memory limit of their own.
     *
     * @param threads the component {@code threads}, described with the class
     * @param isa the component {@code isa}, described with the class
     * @param chunkTokens the component {@code chunkTokens}, described with the class
     */
    public KernelOptions(int threads, String isa, int chunkTokens) {
        this(threads, isa, chunkTokens, 0);
    }

    /**
     * All CPUs, the best instruction set, automatic chunks.
     *
     * @return all cores, the best instruction set of this CPU, automatic chunk size
     */
    public static KernelOptions defaults() {
        return new KernelOptions(0, null, 0, 0);
    }

    /**
     * These options with {@code n} worker threads (0 = one per core).
     *
     * @param n the number of threads
     * @return the changed options
     */
    public KernelOptions withThreads(int n) {
        return new KernelOptions(n, isa, chunkTokens, memoryLimitBytes);
    }

    /**
     * These options with an instruction set forced ("avx512bf16", "avx512", "avx2", "neon" or "generic"); null
     * picks the best fp32 one. A set the CPU lacks is refused when a head is created, with the reason.
     *
     * @param name the instruction set
     * @return the changed options
     */
    public KernelOptions withIsa(String name) {
        return new KernelOptions(threads, name, chunkTokens, memoryLimitBytes);
    }

    /**
     * These options with the bf16 products of {@code "avx512bf16"} (see the class description); creating a
     * head on a CPU without AVX512-BF16 then fails, naming what is missing.
     *
     * @return the changed options
     */
    public KernelOptions withBf16Products() {
        return withIsa("avx512bf16");
    }

    /**
     * These options with a fixed chunk of tokens per pass (a multiple of 16; 0 = chosen from the scratch budget).
     *
     * @param tokens tokens per chunk
     * @return the changed options
     */
    public KernelOptions withChunkTokens(int tokens) {
        return new KernelOptions(threads, isa, tokens, memoryLimitBytes);
    }

    /**
     * These options with a native memory limit for each head (0: what the machine has available).
     *
     * @param bytes the most bytes a head may take
     * @return the changed options
     */
    public KernelOptions withMemoryLimit(long bytes) {
        return new KernelOptions(threads, isa, chunkTokens, bytes);
    }
}
