package io.github.mmupt.adapter;

import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import java.util.List;

/**
 * The trainable adapters inside a policy's trunk, offered by {@link io.github.mmupt.policy.Policy#adapters()}:
 * the policy's hidden states (sampling and scoring) depend on their current values, and this seam gives what
 * the training loop needs beyond that: the hidden states of the reference policy (the same trunk with zero
 * adapters, for the KL term) and the backward pass that turns the head's dL/dh into the adapters' gradients.
 *
 * <p>Lifecycle: per optimizer update, the loop calls {@link #backward} once per micro-batch after the head's
 * {@code accumulate}, then updates {@link #parameters()} with the head's clip scale (one global norm over head and
 * adapters, see {@code GrpoOptimizer.update(double)}). The adapters belong to the policy and die with it.
 * Threading: as the policy, one caller at a time.
 *
 * <pre>{@code
 * TrunkAdapters adapters = policy.adapters().orElseThrow();
 * HiddenStates h = policy.responseHiddenStates(batch);          // with the current adapters
 * optimizer.accumulate(lossBatch, dh);                          // the head's dL/dh into dh
 * adapters.backward(batch, new HiddenStates(t, d, dh));         // the adapters' gradient, accumulated
 * UpdateResult u = optimizer.update(adapters.parameters().gradientSumOfSquares());
 * adapters.parameters().update(adamW, u.clipScale());
 * }</pre>
 */
public interface TrunkAdapters {

    /** {@return the adapters' tensors, accumulated gradient and AdamW state; updating them changes the policy} */
    AdapterParameters parameters();

    /**
     * The hidden states of the reference policy, the trunk with zero adapters, laid out as
     * {@code Policy.responseHiddenStates}.
     *
     * @param sequences the prompts and their response tokens
     * @return [sum of response lengths x d]
     */
    HiddenStates referenceHiddenStates(List<PromptResponse> sequences);

    /**
     * Adds the gradient of a loss with respect to the adapters to {@link #parameters()}' accumulated gradient,
     * given the loss's gradient with respect to the hidden states that {@code Policy.responseHiddenStates}
     * returns for the same sequences with the current adapters.
     *
     * @param sequences the prompts and their response tokens
     * @param gradHidden [sum of response lengths x d] dL/dh, rows as {@code responseHiddenStates} lays them out
     * @throws IllegalArgumentException when {@code gradHidden} does not match the sequences
     */
    void backward(List<PromptResponse> sequences, HiddenStates gradHidden);
}
