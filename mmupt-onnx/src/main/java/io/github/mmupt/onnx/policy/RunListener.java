package io.github.mmupt.onnx.policy;

/**
 * Told after each ONNX Runtime run of a policy's graphs how long it took: a seam for monitoring and for
 * benchmarks that split wall time into the runtime's share and the rest. Called on the thread driving the
 * policy, inside the sampling or scoring loop, so keep it cheap (add to a counter).
 *
 * <pre>{@code
 * LongAdder runtime = new LongAdder();
 * PolicyOptions options = PolicyOptions.defaults().withRunListener((graph, nanos) -> runtime.add(nanos));
 * }</pre>
 */
@FunctionalInterface
public interface RunListener {

    /** Ignores every run (the default). */
    RunListener NONE = (graph, nanos) -> {
    };

    /**
     * One run finished.
     *
     * @param graph {@code vision}, {@code embed} or {@code decoder}
     * @param nanos how long the run took
     */
    void graphRan(String graph, long nanos);
}
