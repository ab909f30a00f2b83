/**
 * GRPO: group-normalized advantages, the clipped surrogate with KL to a reference, loss aggregation, AdamW and
 * gradient clipping, and the {@link io.github.mmupt.grpo.GrpoOptimizer} seam with its double-precision
 * reference implementation.
 *
 * <p>Shapes: T tokens of a micro-batch, d hidden, V vocabulary, r LoRA rank. Per-token arrays are [T];
 * hidden states [T x d]; a full head [V x d]; LoRA A [r x d] and B [V x r].
 */
package io.github.mmupt.grpo;
