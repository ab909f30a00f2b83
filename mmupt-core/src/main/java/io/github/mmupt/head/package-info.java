/**
 * The trainable LM head: its shape ({@link io.github.mmupt.head.HeadShape}, full or LoRA) and its
 * double-precision reference math ({@link io.github.mmupt.head.ReferenceHead}): logits, log-softmax with
 * temperature, entropy, and gradients given a per-token upstream gradient.
 *
 * <p>Shapes: hidden [T x d], W and W0 [V x d], A [r x d], B [V x r], logits [V] per token.
 */
package io.github.mmupt.head;
