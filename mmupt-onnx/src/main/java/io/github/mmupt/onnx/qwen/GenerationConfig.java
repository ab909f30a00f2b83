package io.github.mmupt.onnx.qwen;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * What a model's {@code generation_config.json} says about ending and padding: sampling stops at any of the
 * end-of-sequence ids (Qwen2-VL Instruct: {@code <|im_end|>} 151645 and {@code <|endoftext|>} 151643).
 *
 * @param eosTokenIds the ids that end a response (at least one)
 * @param padTokenId  the padding id, when given
 */
public record GenerationConfig(List<Integer> eosTokenIds, OptionalInt padTokenId) {


    /**
     * Checks and copies the ids.
     *
     * @param eosTokenIds the component {@code eosTokenIds}, described with the class
     * @param padTokenId the component {@code padTokenId}, described with the class
     */
    public GenerationConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (eosTokenIds.isEmpty() || eosTokenIds.stream().anyMatch(id -> id < 0)) {
            throw new IllegalArgumentException("eos_token_id must name at least one id >= 0, got " + eosTokenIds);
        }
    }

    /**
     * Reads {@code generation_config.json}: {@code eos_token_id} as one id or a list, {@code pad_token_id}.
     *
     * @param file the file
     * @return the settings
     * @throws IOException naming the file and field when it is missing, not JSON or has no valid
     *                     {@code eos_token_id}
     */
    public static GenerationConfig read(Path file) throws IOException {
        JsonNode root = ConfigFiles.readObject(file, "generation config");
        JsonNode eos = root.path("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        if (eos.isIntegralNumber()) {
            ids.add(eos.asInt());
        } else if (eos.isArray()) {
            for (JsonNode id : eos) {
                if (!id.isIntegralNumber()) {
                    throw new IOException(file.toAbsolutePath() + ": eos_token_id holds " + id + "; expected ids");
                }
                ids.add(id.asInt());
            }
        }
        if (ids.isEmpty() || ids.stream().anyMatch(id -> id < 0)) {
            throw new IOException(file.toAbsolutePath() + ": eos_token_id is " + eos + "; expected an id >= 0 or a "
                    + "non-empty list of them");
        }
        JsonNode pad = root.path("pad_token_id");
        return new GenerationConfig(ids, pad.isIntegralNumber() ? OptionalInt.of(pad.asInt()) : OptionalInt.empty());
    }
}
