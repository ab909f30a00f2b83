package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;

/**
 * The read-only use of a head: logits for sampling and log-probs of chosen tokens. A sampler needs only this,
 * so evaluating a head needs no optimizer settings; every {@link GrpoOptimizer} is one (scoring its current or
 * reference head), and the native kernel offers a frozen one ({@code HeadOptimizers.scorer} in
 * {@code mmupt-onnx}).
 *
 * <p>Lifecycle, ownership and threading as {@link GrpoOptimizer}: one thread at a time; {@link #close()} frees
 * the head and is idempotent.
 *
 * <pre>{@code
 * try (HeadScorer head = HeadOptimizers.scorer(trained, 1.0, KernelOptions.defaults())) {
 *     RolloutSampler eval = KvCacheSampler.forEvaluation(policy, head, AnswerExtractor.boxed());
 * }
 * }</pre>
 */
public interface HeadScorer extends AutoCloseable {

    /** {@return the shape of the head} */
    HeadShape shape();

    /** {@return the temperature {@link #score} divides the logits by} */
    double temperature();

    /**
     * Log-probs of {@code targets} and entropies with {@link #temperature()}. A frozen scorer has one head, which
     * is both its current and its reference version.
     *
     * @param hidden  [T x d]
     * @param targets [T]
     * @param version the current head, or the frozen reference
     * @return the log-prob and entropy of each target
     */
    TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version);

    /**
     * Raw logits of the current head, z = W h (no temperature), for sampling.
     *
     * @param hidden [T x d]
     * @param out    [T x V] row-major, written from its position
     */
    void logits(HiddenStates hidden, FloatBuffer out);

    /**
     * Draws one token per row of {@code logits} (from {@link #logits}) from softmax(z / temperature), over the
     * whole vocabulary or its top-p nucleus, where this head has a faster way than the caller's own loop (the
     * native kernel's SIMD exp and radix select): the first token whose cumulative weight, in id order, passes
     * {@code uniform[r]} times the total kept. The nucleus is the fewest heaviest tokens whose probability reaches
     * {@code topP} (ties by lower id). The rows may be overwritten. Returns false, touching nothing, when it has
     * none; the caller then draws itself.
     *
     * @param logits [rows x V], from its position
     * @param rows how many rows
     * @param temperature the logits are divided by it
     * @param topP nucleus mass in (0, 1]; 1 keeps every token
     * @param uniform [rows] draws in [0, 1)
     * @param banned tokens that get probability 0
     * @param skip [rows] rows not to draw
     * @param out [rows] the tokens; -1 for a row that cannot be sampled (NaN or +Inf logits, nothing left)
     * @return whether it drew
     */
    default boolean draw(FloatBuffer logits, int rows, double temperature, double topP, double[] uniform,
            int[] banned, boolean[] skip, int[] out) {
        return false;
    }

    @Override
    void close();
}
