package io.github.mmupt.policy;

import io.github.mmupt.adapter.TrunkAdapters;
import java.util.List;
import java.util.Optional;

/**
 * The trunk of a multimodal model: it turns a prompt (images and text) and response tokens into the final
 * hidden states that the trainable head maps to logits. Forward passes only; the head and its gradients live in
 * a {@code GrpoOptimizer}. A trunk is frozen unless it offers trainable {@link #adapters()} (LoRA on its
 * decoder), whose gradients it then computes from the head's dL/dh.
 *
 * <p>Lifecycle and ownership: a policy owns its model sessions and native memory, is created open and
 * is released by {@link #close()}, which is idempotent; any other call after close throws
 * {@link IllegalStateException}. Hidden states it returns are owned by the caller and stay valid after close.
 *
 * <p>Threading: not thread-safe. One thread drives a policy at a time (the training loop does).
 *
 * <pre>{@code
 * try (Policy policy = OnnxPolicy.open(modelDir)) {
 *     HiddenStates h = policy.responseHiddenStates(List.of(new PromptResponse(prompt, tokens)));
 * }
 * }</pre>
 */
public interface Policy extends AutoCloseable {

    /**
     * Dimensions and identity of the model.
     *
     * @return hidden size, vocabulary, end-of-sequence ids and the model's identity
     */
    PolicySpec spec();

    /** {@return the model's tokenizer: gold responses are tokenized with it for supervised fine-tuning} */
    Tokenizer tokenizer();

    /**
     * The final hidden states predicting each response token of each sequence, packed in order: the result
     * has one row per response token, {@code sum(responseTokens.length())} rows in all, of width
     * {@code spec().hiddenSize()}.
     *
     * @param sequences the prompts and their response tokens
     * @return [sum of response lengths x d]
     * @throws IllegalArgumentException when a token id is outside the vocabulary or a prompt's images do not
     *                                  fit the model
     */
    HiddenStates responseHiddenStates(List<PromptResponse> sequences);

    /**
     * The trainable adapters inside the trunk, when it has them (a LoRA on the decoder's projections); the
     * training loop then trains them with the head. A frozen trunk has none (the default).
     *
     * @return the adapters, or empty for a frozen trunk
     */
    default Optional<TrunkAdapters> adapters() {
        return Optional.empty();
    }

    /** Releases the model; idempotent. */
    @Override
    void close();
}
