package io.github.mmupt.grpo;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;

/**
 * The trainable head and its optimizer: scores tokens, accumulates the gradient of the GRPO loss over
 * micro-batches, and applies AdamW. Two implementations: {@link ReferenceGrpoOptimizer} (pure Java, double
 * precision, the oracle) and the native kernel in {@code mmupt-onnx}.
 *
 * <p>Lifecycle: create it with the initial head (which also becomes the frozen {@link HeadVersion#REFERENCE}
 * head); then, per optimizer step, call {@link #accumulate} once per micro-batch and {@link #update} once.
 * {@link #close()} releases the parameters, gradient and optimizer state; it is idempotent, and any other
 * call after it throws {@link IllegalStateException}.
 *
 * <p>Ownership: the optimizer owns the head parameters; callers own the batches and results they pass and
 * receive. Threading: not thread-safe; one thread drives it (implementations may use threads inside a call).
 *
 * <pre>{@code
 * try (GrpoOptimizer opt = new ReferenceGrpoOptimizer(head, GrpoLossConfig.mmUpt(), AdamWConfig.mmUpt())) {
 *     for (LossBatch micro : miniBatch) {
 *         opt.accumulate(micro);
 *     }
 *     UpdateResult update = opt.update();
 * }
 * }</pre>
 */
public interface GrpoOptimizer extends HeadScorer {

    /** {@return the shape of the head it trains} */
    @Override
    HeadShape shape();

    /** {@return the loss it computes} */
    GrpoLossConfig lossConfig();

    /** {@return the loss config's temperature, which {@link #score} and the loss divide the logits by} */
    @Override
    default double temperature() {
        return lossConfig().temperature();
    }

    /** {@return its AdamW settings} */
    AdamWConfig adamW();

    /**
     * Replaces the AdamW settings for the updates that follow (a continual run lowers the learning rate when a
     * guard asks it to). The moments, parameters and step count are kept.
     *
     * @param config the new settings
     */
    void adamW(AdamWConfig config);

    /**
     * Log-probs of {@code targets} and entropies under the current or the reference head, with the loss
     * config's temperature. At the first micro-batch after an update, scoring with {@link HeadVersion#CURRENT}
     * gives exactly the log-probs {@link #accumulate} computes, so the importance ratio starts at 1.
     *
     * @param hidden  [T x d]
     * @param targets [T]
     * @param version the current head, or the frozen reference
     * @return the log-prob and entropy of each target
     */
    @Override
    TokenScores score(HiddenStates hidden, ImmutableIntArray targets, HeadVersion version);

    /**
     * Raw logits of the current head, z = W h (no temperature), for sampling.
     *
     * @param hidden [T x d]
     * @param out    [T x V] row-major, written from its position
     */
    @Override
    void logits(HiddenStates hidden, FloatBuffer out);

    /**
     * DPO's loss and per-sequence coefficients for preference pairs ({@link DpoLoss}); the native kernel computes
     * them in C ({@code mmupt_dpo_pairs}), checked against {@link DpoLoss}. The gradient itself then flows
     * through {@link #accumulate} (see {@code io.github.mmupt.preference.DpoTrainer}).
     *
     * @param chosen the policy's log-prob of each chosen response
     * @param rejected the policy's log-prob of each rejected response
     * @param refChosen the reference's log-prob of each chosen response
     * @param refRejected the reference's log-prob of each rejected response
     * @param beta DPO's beta, > 0
     * @return the loss, coefficients and statistics
     */
    default DpoPairs dpoPairs(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected, double beta) {
        return DpoLoss.pairs(chosen, rejected, refChosen, refRejected, beta);
    }

    /**
     * Evaluates the loss of one micro-batch and adds its gradient to the accumulated gradient.
     *
     * @param batch the tokens, advantages and log-probs of a micro-batch
     * @return the loss and its statistics for this micro-batch
     * @throws IllegalArgumentException when the batch does not fit the head (width, token ids) or lacks the
     *                                  reference log-probs the KL term needs
     */
    LossMetrics accumulate(LossBatch batch);

    /**
     * As {@link #accumulate(LossBatch)}, and also writes dL/dh, the gradient of this micro-batch's loss with
     * respect to its hidden states, so that a trunk with trainable adapters can carry it on
     * ({@link io.github.mmupt.adapter.TrunkAdapters#backward}).
     *
     * @param batch the tokens, advantages and log-probs of a micro-batch
     * @param gradHidden [T x d] written from its position: dL/dh of the batch's rows
     * @return the loss and its statistics for this micro-batch
     * @throws UnsupportedOperationException when this optimizer does not give dL/dh
     */
    default LossMetrics accumulate(LossBatch batch, FloatBuffer gradHidden) {
        throw new UnsupportedOperationException(getClass().getName() + " does not give dL/dh, which training a "
                + "trunk's adapters needs");
    }

    /**
     * Clips the accumulated gradient by global norm, applies one AdamW step and clears the gradient. A
     * gradient that is not finite is not applied: the result says so and the head is unchanged.
     *
     * @return what the update did (skipped, with why, when not finite)
     */
    UpdateResult update();

    /**
     * As {@link #update()}, with one global norm over the head's gradient and other gradients trained with it
     * (a trunk's adapters), given by their sum of squares: the returned norm, clip scale and decision to skip
     * cover both, and the caller applies the same scale to the others (or skips them too).
     *
     * @param otherSumOfSquares the other gradients' sum of squares, at least 0 (NaN or infinite skips the update)
     * @return what the update did
     * @throws UnsupportedOperationException when this optimizer cannot share its clip and the sum is not 0
     */
    default UpdateResult update(double otherSumOfSquares) {
        if (otherSumOfSquares == 0) {
            return update();
        }
        throw new UnsupportedOperationException(getClass().getName() + " cannot clip together with other gradients");
    }

    /** Clears the accumulated gradient without updating. */
    void discardGradient();

    /** {@return updates applied so far} */
    long step();

    /** {@return the head as trained so far (a copy)} */
    HeadWeights weights();

    /**
     * Parameters, AdamW moments and step, for a checkpoint.
     *
     * @return a copy of the parameters, moments and step
     */
    OptimizerState state();

    /**
     * Continues from a saved state: parameters, moments and step are replaced; the reference head and the
     * accumulated gradient (cleared) are not part of it.
     *
     * @param state a state of the same head shape
     * @throws IllegalArgumentException when the state is of another head shape
     */
    void restore(OptimizerState state);

    @Override
    void close();
}
