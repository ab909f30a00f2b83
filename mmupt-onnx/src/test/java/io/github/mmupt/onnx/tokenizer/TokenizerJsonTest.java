package io.github.mmupt.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-made tokenizer files: the BPE rules on small cases, and a clear refusal of everything not reproduced. */
class TokenizerJsonTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    /** 256 byte tokens (id = byte), then "aa" 256, "ab" 257 (no merge makes "ab": only ignore_merges finds it). */
    private Path write(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token");
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), b);
        }
        vocab.put("aa", 256);
        vocab.put("ab", 257);
        model.putArray("merges").add("a a");
        root.putArray("added_tokens").addObject().put("id", 258).put("content", "<s>").put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel");
        edit.accept(root);
        Path file = dir.resolve("tokenizer.json");
        JSON.writeValue(file.toFile(), root);
        return file;
    }

    @Test
    void equalRanksMergeTheLeftmostPairAndIgnoreMergesTakesWholeWords() throws IOException {
        ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.read(write(root -> {}));
        assertThat(tok.encode("aaa").asList()).containsExactly(256, (int) 'a');
        assertThat(tok.encode("aaaa").asList()).containsExactly(256, 256);
        assertThat(tok.encode("ab").asList()).containsExactly((int) 'a', (int) 'b');
        assertThat(tok.encodeWithSpecialTokens("a<s>a").asList()).containsExactly((int) 'a', 258, (int) 'a');
        assertThat(tok.vocabSize()).isEqualTo(259);
        ByteLevelBpeTokenizer whole = ByteLevelBpeTokenizer.read(write(root -> ((ObjectNode) root.get("model"))
                .put("ignore_merges", true)));
        assertThat(whole.encode("ab").asList()).containsExactly(257);
        assertThat(whole.encode("aaa").asList()).containsExactly(256, (int) 'a');
    }

    @Test
    void unsupportedComponentsAreRefusedByName() throws IOException {
        assertRefused(root -> ((ObjectNode) root.get("model")).put("type", "WordPiece"),
                "model.type: is \"WordPiece\"; only byte-level \"BPE\"");
        assertRefused(root -> root.putObject("normalizer").put("type", "Lowercase"),
                "normalizer: type \"Lowercase\" is not supported; supported: NFC, NFD, NFKC, NFKD");
        assertRefused(root -> {
            ArrayNode steps = root.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
            steps.addObject().put("type", "Split").put("behavior", "Removed").putObject("pattern").put("Regex", "\\s");
            steps.addObject().put("type", "ByteLevel").put("use_regex", false);
        }, "only behavior \"Isolated\" without invert is supported");
        assertRefused(root -> root.putObject("pre_tokenizer").put("type", "Whitespace"),
                "must end with a ByteLevel step");
        assertRefused(root -> ((ObjectNode) root.get("pre_tokenizer")).put("add_prefix_space", true),
                "add_prefix_space: true is not supported");
        assertRefused(root -> root.putObject("decoder").put("type", "WordPiece"), "decoder: is");
        assertRefused(root -> ((ObjectNode) root.get("model")).put("byte_fallback", true), "byte_fallback");
        assertRefused(root -> ((ObjectNode) root.get("model")).put("dropout", 0.1), "BPE dropout");
        assertRefused(root -> ((ObjectNode) root.get("added_tokens").get(0)).put("lstrip", true),
                "added_tokens[0]: \"<s>\" has lstrip: true");
    }

    @Test
    void inconsistentVocabulariesAreRefusedWithThePlace() throws IOException {
        assertRefused(root -> ((ArrayNode) root.get("model").get("merges")).add("a zz"),
                "model.merges[1]: (a + zz) uses \"zz\", which is not in model.vocab");
        assertRefused(root -> ((ArrayNode) root.get("model").get("merges")).add("abc"),
                "model.merges[1]: is \"abc\"; expected two tokens separated by one space");
        assertRefused(root -> ((ObjectNode) root.get("model").get("vocab")).remove("Ġ"),
                "byte 0x20 (character 'Ġ') has no token");
        assertRefused(root -> ((ObjectNode) root.get("model").get("vocab")).put("dup", 5), "two tokens share an id");
        assertRefused(root -> ((ObjectNode) root.get("model").get("vocab")).put("neg", -1),
                "token \"neg\" has id -1; expected an integer >= 0");
    }

    @Test
    void missingAndMalformedFilesAreNamed() throws IOException {
        assertThatThrownBy(() -> ByteLevelBpeTokenizer.read(dir.resolve("none.json")))
                .hasMessageContaining("tokenizer file not found").hasMessageContaining("none.json");
        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"model\": ");
        assertThatThrownBy(() -> ByteLevelBpeTokenizer.read(broken)).hasMessageContaining("broken.json is not valid JSON");
        Path array = Files.writeString(dir.resolve("array.json"), "[1, 2]");
        assertThatThrownBy(() -> ByteLevelBpeTokenizer.read(array)).hasMessageContaining("expected a JSON object");
    }

    private void assertRefused(Consumer<ObjectNode> edit, String message) throws IOException {
        Path file = write(edit);
        assertThatThrownBy(() -> ByteLevelBpeTokenizer.read(file)).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toAbsolutePath().toString()).hasMessageContaining(message);
    }
}
