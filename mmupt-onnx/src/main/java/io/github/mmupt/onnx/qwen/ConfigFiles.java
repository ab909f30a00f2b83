package io.github.mmupt.onnx.qwen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the small JSON settings files of a model directory ({@code config.json}, {@code preprocessor_config.json},
 * {@code generation_config.json}): they are untrusted, so size is bounded before parsing, and every failure names
 * the file.
 */
final class ConfigFiles {

    /** Far above any settings file (they are a few kilobytes). */
    static final long MAX_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigFiles() {}

    /**
     * Reads a settings file.
     *
     * @param file the file
     * @param what what it is, for errors ("model config")
     * @return its top-level JSON object
     * @throws IOException naming the file: missing, too large, not JSON or not an object
     */
    static JsonNode readObject(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(what + " not found: " + file.toAbsolutePath());
        }
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IOException(file.toAbsolutePath() + " has " + size + " bytes; a " + what + " has at most "
                    + MAX_BYTES);
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(file.toAbsolutePath() + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file.toAbsolutePath() + ": expected a JSON object");
        }
        return root;
    }
}
