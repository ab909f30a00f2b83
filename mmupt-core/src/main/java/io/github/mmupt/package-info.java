/**
 * mmupt-java: unsupervised post-training (MM-UPT) of multimodal LLMs by majority-vote rewards and GRPO.
 *
 * <p>Packages by concept: {@code prompt} (images and questions), {@code policy} (the frozen trunk that gives
 * hidden states), {@code rollout} (sampling N responses), {@code answer} (extracting and comparing final
 * answers), {@code vote} (pseudo-labels and rewards), {@code grpo} (advantages, the loss, the optimizer seam),
 * {@code head} (the LM head and its reference math).
 *
 * <p>Dimensions, used the same way everywhere: T tokens in a micro-batch (response tokens only), d hidden
 * width, V vocabulary size, r LoRA rank, G groups (prompts) in a step, N responses per group. Matrices are
 * row-major; every array parameter states its shape in brackets, e.g. {@code hidden [T x d]}.
 */
package io.github.mmupt;
