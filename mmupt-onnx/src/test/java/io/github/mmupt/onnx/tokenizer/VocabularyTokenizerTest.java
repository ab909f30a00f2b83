package io.github.mmupt.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.onnx.tiny.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabularyTokenizerTest {

    private final VocabularyTokenizer tok = TinyModels.tokenizer();

    @Test
    void roundTripsTextWithLatexAndNumbers() {
        String text = "3 red + 12 blue = \\boxed{15}.";
        ImmutableIntArray ids = tok.encode(text);
        assertThat(ids.length()).isEqualTo(12);
        assertThat(tok.decode(ids)).isEqualTo(text);
    }

    @Test
    void unknownWordsAndSpecialStringsBecomeUnknown() {
        ImmutableIntArray ids = tok.encode("how many <eos> purple ?");
        assertThat(ids.get(1)).isEqualTo(tok.id("many"));
        assertThat(tok.token(ids.get(2))).isEqualTo(VocabularyTokenizer.UNKNOWN); // '<' is not a word
        assertThat(tok.decode(ImmutableIntArray.of(tok.id(VocabularyTokenizer.BOS), tok.id("red"),
                tok.id(VocabularyTokenizer.EOS)))).isEqualTo("red");
    }

    @Test
    void persistsAndRejectsBadFiles(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        tok.write(file);
        assertThat(VocabularyTokenizer.read(file).tokens()).isEqualTo(tok.tokens());
        Files.writeString(file, "{\"tokens\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}");
        assertThatThrownBy(() -> VocabularyTokenizer.read(file)).hasMessageContaining("must start with");
        assertThatThrownBy(() -> VocabularyTokenizer.read(dir.resolve("missing.json"))).hasMessageContaining("not found");
        assertThatThrownBy(() -> tok.decode(ImmutableIntArray.of(999))).hasMessageContaining("outside the vocabulary");
    }
}
