package io.github.mmupt.onnx.kernel;

import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadScorer;
import io.github.mmupt.grpo.ReferenceHeadScorer;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the {@link GrpoOptimizer} implementation: the native kernel where its library loads, otherwise the
 * pure-Java reference with one warning in the log. Setting the system property {@value #REQUIRE_NATIVE}
 * to {@code true} turns that fallback into an error, for benchmarks and deployments that must not silently
 * run a thousand times slower.
 *
 * <pre>{@code
 * try (GrpoOptimizer opt = HeadOptimizers.create(initial, GrpoLossConfig.mmUpt(), adamW, KernelOptions.defaults())) {
 *     ...
 * }
 * }</pre>
 */
public final class HeadOptimizers {

    /** System property: {@code true} makes a missing native kernel an error instead of a fallback. */
    public static final String REQUIRE_NATIVE = "mmupt.native.required";

    private static final Logger LOG = LoggerFactory.getLogger(HeadOptimizers.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private HeadOptimizers() {
    }

    /**
     * The native optimizer, or the Java reference when the native library is unavailable (see the class doc).
     *
     * @param initial the head to train (its weights are copied)
     * @param loss the GRPO loss settings
     * @param adamW the optimizer settings
     * @param options the native kernel's settings (threads, instruction set, chunk size)
     * @return the native optimizer, or the Java reference where no native kernel could be loaded
     */
    public static GrpoOptimizer create(HeadWeights initial, GrpoLossConfig loss, AdamWConfig adamW,
            KernelOptions options) {
        return create(initial, loss, adamW, options, Boolean.getBoolean(REQUIRE_NATIVE));
    }

    /**
     * As {@link #create(HeadWeights, GrpoLossConfig, AdamWConfig, KernelOptions)}, with the fallback decided by
     * {@code requireNative} instead of the system property.
     *
     * @param initial the head to train (its weights are copied)
     * @param loss the GRPO loss settings
     * @param adamW the optimizer settings
     * @param options the native kernel's settings
     * @param requireNative whether a missing native kernel is an error rather than a fallback
     * @return the native optimizer, or the Java reference when that is allowed
     * @throws IllegalStateException when {@code requireNative} is set and the native library is unavailable
     */
    public static GrpoOptimizer create(HeadWeights initial, GrpoLossConfig loss, AdamWConfig adamW,
            KernelOptions options, boolean requireNative) {
        return create(initial, loss, adamW, options, requireNative, NativeLibrary::load);
    }

    /** The decision, with the library loader as a parameter so that the fallback can be tested. */
    static GrpoOptimizer create(HeadWeights initial, GrpoLossConfig loss, AdamWConfig adamW, KernelOptions options,
            boolean requireNative, Runnable loadLibrary) {
        if (!nativeAvailable(requireNative, loadLibrary)) {
            return new ReferenceGrpoOptimizer(initial.toReference(), loss, adamW);
        }
        return new NativeGrpoOptimizer(initial, loss, adamW, options);
    }

    /** Loads the library; false (after one warning) when it is missing and a fallback is allowed. */
    private static boolean nativeAvailable(boolean requireNative, Runnable loadLibrary) {
        try {
            loadLibrary.run();
            return true;
        } catch (UnsatisfiedLinkError e) {
            if (requireNative) {
                throw new IllegalStateException("the native kernel is required (" + REQUIRE_NATIVE
                        + "=true) but unavailable: " + e.getMessage(), e);
            }
            if (WARNED.compareAndSet(false, true)) {
                LOG.warn("native kernel unavailable, using the pure-Java reference (much slower): {}", e.getMessage());
            }
            return false;
        }
    }

    /**
     * A frozen head for evaluation and serving: the native {@link NativeHeadScorer}, or the Java reference when
     * the native library is unavailable (as {@link #create(HeadWeights, GrpoLossConfig, AdamWConfig,
     * KernelOptions)} decides, with the same system property).
     *
     * @param weights the head (copied)
     * @param temperature what scoring divides the logits by, &gt; 0
     * @param options the native kernel's settings
     * @return the scorer; close it
     */
    public static HeadScorer scorer(HeadWeights weights, double temperature, KernelOptions options) {
        if (!nativeAvailable(Boolean.getBoolean(REQUIRE_NATIVE), NativeLibrary::load)) {
            return new ReferenceHeadScorer(weights.toReference(), temperature);
        }
        return new NativeHeadScorer(weights, temperature, options);
    }
}
