package io.github.mmupt.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test's main class run in a child JVM with its own heap cap, for the tests whose point is memory: the cap is
 * the JVM's own bound, and the child reports what it measured on its last line as {@code key=value} pairs.
 *
 * <pre>{@code
 * String last = ChildJvm.lastLine(ChildJvm.run(Child.class, "512m", 240, List.of()));
 * long peak = ChildJvm.value(last, "peak_heap_bytes");
 * }</pre>
 */
public final class ChildJvm {

    private ChildJvm() {
    }

    /**
     * Runs {@code main} with {@code -Xmx<heap>} and this JVM's class path; fails the test, with the child's output,
     * when it does not exit 0 within {@code seconds}.
     *
     * @param main a class with a {@code main} method
     * @param heap the {@code -Xmx} value, such as {@code 512m}
     * @param seconds how long it may take
     * @param jvmArgs more JVM options (system properties)
     * @param args the program's arguments
     * @return the child's output (its last line: {@link #lastLine})
     * @throws Exception when the child cannot be started or waited for
     */
    public static String run(Class<?> main, String heap, long seconds, List<String> jvmArgs, String... args)
            throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx" + heap, "-cp", System.getProperty("java.class.path")));
        command.addAll(jvmArgs);
        command.add(main.getName());
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        // drained while it runs: a child whose output filled the pipe would block and never finish
        java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return "(output unreadable: " + e.getMessage() + ")";
            }
        });
        boolean finished;
        try {
            finished = child.waitFor(seconds, TimeUnit.SECONDS);
        } finally {
            child.destroyForcibly();
        }
        String out = output.get(30, TimeUnit.SECONDS);
        assertThat(finished).as("%s finishes within %d s: %s", main.getSimpleName(), seconds, out).isTrue();
        assertThat(child.exitValue()).as(out).isZero();
        return out;
    }

    /**
     * The last line of an output.
     *
     * @param output what a child printed
     * @return its last non-blank line
     */
    public static String lastLine(String output) {
        return output.strip().lines().reduce((a, b) -> b).orElse("");
    }

    /**
     * The value of {@code key=} in a line of space-separated pairs.
     *
     * @param line the line
     * @param key the key
     * @return its value
     */
    public static long value(String line, String key) {
        for (String part : line.split(" ")) {
            if (part.startsWith(key + "=")) {
                return Long.parseLong(part.substring(key.length() + 1));
            }
        }
        throw new AssertionError("no " + key + " in: " + line);
    }

    /**
     * The heap's used size sampled every 2 ms from now on, on a daemon thread: its true peak, garbage included
     * (the memory pools' own peaks, summed, add maxima of different moments).
     */
    public static final class HeapPeak {
        private final AtomicLong peak = new AtomicLong();
        private final Thread sampler;

        /** Starts sampling. */
        public HeapPeak() {
            sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    peak.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.setDaemon(true);
            sampler.start();
        }

        /** {@return the largest used heap seen so far; stops sampling} */
        public long stop() {
            sampler.interrupt();
            return peak.get();
        }
    }
}
