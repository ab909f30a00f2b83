package io.github.mmupt.onnx.kernel;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The check made before a head's native memory is allocated: a head of Qwen2.5-VL-7B's size with AdamW takes
 * 8.7 GB, and allocating (and zeroing) most of that before failing would push the host into swap or the OOM
 * killer. The limit is {@link KernelOptions#memoryLimitBytes()} when set, otherwise the memory this process can
 * still get: Linux's {@code MemAvailable}, lowered to a cgroup's remaining {@code memory.max} in a container,
 * or the JVM's view of free physical memory elsewhere.
 */
final class NativeMemory {

    private NativeMemory() {
    }

    /**
     * Refuses, before anything is allocated, an allocation of {@code bytes} over the limit.
     *
     * @param bytes what is about to be allocated
     * @param what what it is for, named in the refusal
     * @param options where a configured limit comes from
     * @throws IllegalStateException when {@code bytes} exceeds the limit
     */
    static void require(long bytes, String what, KernelOptions options) {
        long limit = options.memoryLimitBytes() > 0 ? options.memoryLimitBytes() : available();
        if (bytes > limit) {
            throw new IllegalStateException(what + " needs " + gib(bytes) + " of native memory (weights, and for "
                    + "training the gradient and AdamW's two moments, rows padded to a multiple of 16 floats), more than the "
                    + gib(limit) + (options.memoryLimitBytes() > 0 ? " KernelOptions.memoryLimitBytes allows"
                    : " this machine has available") + ": use a LoRA head, a machine with more memory, or raise "
                    + "KernelOptions.withMemoryLimit");
        }
    }

    /** {@return the bytes this process can still allocate, as the operating system reports it} */
    static long available() {
        long meminfo = meminfoAvailable();
        long cgroup = cgroupRemaining();
        long best = Math.min(meminfo, cgroup);
        if (best != Long.MAX_VALUE) {
            return best;
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getFreeMemorySize();
        }
        return Long.MAX_VALUE; // nothing reports it: the allocation itself is the only check left
    }

    private static long meminfoAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024; // reported in kB
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or an unexpected format: another source answers
        }
        return Long.MAX_VALUE;
    }

    private static long cgroupRemaining() {
        try {
            Path max = Path.of("/sys/fs/cgroup/memory.max");
            Path current = Path.of("/sys/fs/cgroup/memory.current");
            if (!Files.isReadable(max) || !Files.isReadable(current)) {
                return Long.MAX_VALUE;
            }
            List<String> m = Files.readAllLines(max);
            if (m.isEmpty() || m.get(0).trim().equals("max")) {
                return Long.MAX_VALUE;
            }
            return Math.max(0, Long.parseLong(m.get(0).trim()) - Long.parseLong(Files.readAllLines(current).get(0).trim()));
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
