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

    @Override
    void close();
}
