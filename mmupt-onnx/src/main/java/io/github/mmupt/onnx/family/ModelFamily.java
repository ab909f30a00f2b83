package io.github.mmupt.onnx.family;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.policy.Tokenizer;
import io.github.mmupt.prompt.Prompt;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Everything that differs between model families, behind one seam, so that one runner
 * ({@code OnnxPolicy}) drives the three sessions (vision encoder, token embeddings, decoder with a KV cache) of
 * any of them: the tokenizer, how a prompt is laid out (chat template, image tokens), image preprocessing,
 * the decoder's positions (1-D or M-RoPE), the graphs' names and dimensions, the vision graph's contract, where
 * the LM head is, and which files a trained model directory keeps.
 *
 * <p>Implementations: {@code TinyFamily} (the generated model of the embedded default and the tests) and
 * {@code QwenFamily} (Qwen2-VL / Qwen2.5-VL exports). A family is immutable and may be shared by policies.
 *
 * <pre>{@code
 * ModelFamily family = TinyFamily.open(modelDir);
 * try (OnnxPolicy policy = OnnxPolicy.open(family, PolicyOptions.defaults())) { ... }
 * }</pre>
 */
public interface ModelFamily {

    /** {@return a short name for messages and metrics, such as {@code tiny} or {@code qwen2_vl}} */
    String name();

    /** {@return the model directory the family was read from} */
    Path directory();

    /** {@return the trunk's dimensions, which every graph is checked against} */
    TrunkShape shape();

    /** {@return the graphs' input and output names} */
    GraphNames names();

    /** {@return the tokenizer of prompts and responses} */
    Tokenizer tokenizer();

    /** {@return the tokens that end a response} */
    ImmutableIntArray endOfSequence();

    /** {@return the token fed after a response has ended, while others in its batch go on} */
    int padToken();

    /**
     * The rotary axes of the decoder's {@code position_ids}: 1 for {@code [B, S]}, or 3 for M-RoPE's
     * {@code [3, B, S]}.
     *
     * @return 1 or 3
     */
    int positionAxes();

    /** {@return the vision graph, relative to the directory} */
    String visionFile();

    /** {@return the embedding graph, relative to the directory} */
    String embedFile();

    /** {@return the decoder graph, relative to the directory} */
    String decoderFile();

    /**
     * Lays a prompt out: its token ids with image tokens, the images preprocessed for the vision graph, and
     * the positions.
     *
     * @param prompt the prompt
     * @return the encoded prompt
     * @throws IllegalArgumentException when an image cannot be processed or the prompt does not fit
     */
    EncodedPrompt encode(Prompt prompt);

    /**
     * Checks the vision graph's declared inputs and outputs against what {@link #encode} feeds it.
     *
     * @param vision the vision graph
     * @throws IOException naming the graph, the value and both shapes on a mismatch
     */
    void checkVision(OnnxModel vision) throws IOException;

    /**
     * Takes the LM head out of the decoder (the hidden state becomes the output {@code hiddenOutput}).
     *
     * @param decoder the decoder as the file has it
     * @param hiddenOutput the name of the exposed final hidden state
     * @return the trunk without its head, and the head
     * @throws IOException when the head cannot be found
     */
    default HeadSurgery.Detached detachHead(OnnxModel decoder, String hiddenOutput) throws IOException {
        return HeadSurgery.detach(decoder, names().logits(), hiddenOutput);
    }

    /**
     * Where the decoder keeps its weights when they are in an external data file beside it: an exported copy
     * writes them the same way (real exports over protobuf's 2 GB must).
     *
     * @return the data file's name, in the decoder's directory, or empty when the weights are inside the graph
     */
    default Optional<String> decoderDataFile() {
        return Optional.empty();
    }

    /**
     * The files a trained copy of the model directory takes over unchanged (everything but the decoder, which
     * is written with the trained head), relative to the directory.
     *
     * @return the relative paths
     */
    List<String> unchangedFiles();
}
