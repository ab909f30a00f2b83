/**
 * Trainable adapters inside a trunk (LoRA on the decoder's projections), trained together with the head: the
 * seam a policy offers when it has them ({@link io.github.mmupt.adapter.TrunkAdapters}) and the parameters,
 * gradients and AdamW state they share with the training loop ({@link io.github.mmupt.adapter.AdapterParameters}).
 *
 * <p>Shapes: T response tokens, d hidden size; each adapter tensor is a flat float32 array of its own length
 * (a LoRA's A is [r x in], its B [out x r], row-major, PEFT's layout).
 */
package io.github.mmupt.adapter;
