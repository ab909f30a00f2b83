package io.github.mmupt.grpo;

import io.github.mmupt.head.HeadGradients;
import io.github.mmupt.head.TokenScores;

/**
 * Everything one evaluation of the GRPO loss over a micro-batch produced, from the reference implementation.
 *
 * @param metrics   the loss and its statistics
 * @param scores    [T] log-probs and entropies under the current head
 * @param upstream  [T] the per-token upstream gradient w_t dL_t/dlogp_t
 * @param gradients dL/dtheta and dL/dh
 */
public record LossResult(LossMetrics metrics, TokenScores scores, double[] upstream, HeadGradients gradients) {
}
