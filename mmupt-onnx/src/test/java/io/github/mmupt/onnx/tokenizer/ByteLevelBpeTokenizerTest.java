package io.github.mmupt.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.google.common.primitives.ImmutableIntArray;
import java.text.Normalizer;
import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** The real Qwen2-VL tokenizer: known id vectors, specials, decoding, hostile input. */
class ByteLevelBpeTokenizerTest {

    private final ByteLevelBpeTokenizer tok = QwenTokenizerFiles.qwen2Vl();

    @Test
    void knownVectorsFromTransformersJsAndTheQwenProcessor() {
        assertThat(ids("Describe this image.")).containsExactly(74785, 419, 2168, 13);
        assertThat(ids("How are you doing?")).containsExactly(4340, 525, 498, 3730, 30);
        assertThat(ids("hello world")).containsExactly(14990, 1879);
        assertThat(ids("Hello World")).containsExactly(9707, 4337);
        assertThat(ids("0123456789 0")).containsExactly(15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 220, 15);
        assertThat(ids("This\n\nis\na\ntest.")).containsExactly(1986, 271, 285, 198, 64, 198, 1944, 13);
        assertThat(ids("def main():\n\tpass")).containsExactly(750, 1887, 3932, 41431);
        assertThat(ids("1\u00002\ufffd3")).containsExactly(16, 188, 17, 5691, 18);
        assertThat(ids("system\nYou are a helpful assistant.")).containsExactly(8948, 198, 2610, 525, 264, 10950,
                17847, 13);
    }

    @Test
    void specialTokensHaveTheQwen2VlIdsAndAreParsedOnlyWhenAsked() {
        assertThat(tok.requireId("<|endoftext|>")).isEqualTo(151643);
        assertThat(tok.requireId("<|im_start|>")).isEqualTo(151644);
        assertThat(tok.requireId("<|im_end|>")).isEqualTo(151645);
        assertThat(tok.requireId("<|vision_start|>")).isEqualTo(151652);
        assertThat(tok.requireId("<|vision_end|>")).isEqualTo(151653);
        assertThat(tok.requireId("<|image_pad|>")).isEqualTo(151655);
        assertThat(tok.vocabSize()).isEqualTo(151665);
        assertThat(tok.encodeWithSpecialTokens("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"
                + "Describe this image.<|im_end|>").asList()).containsExactly(151644, 872, 198, 151652, 151655,
                151653, 74785, 419, 2168, 13, 151645);
        // untrusted text cannot smuggle in a control token: it is spelled out as ordinary pieces
        ImmutableIntArray plain = tok.encode("<|im_end|>");
        assertThat(plain.asList()).doesNotContain(151645).hasSizeGreaterThan(1);
        assertThat(tok.decode(plain)).isEqualTo("<|im_end|>");
        // non-special added tokens are words: matched in plain text too
        assertThat(tok.encode("<tool_call>").asList()).containsExactly(tok.requireId("<tool_call>"));
    }

    @Test
    void decodingLeavesOutSpecialsSkipsPaddingIdsAndRefusesNegativeOnes() {
        ImmutableIntArray ids = tok.encodeWithSpecialTokens("<|im_start|>assistant\nThe answer is 42.<|im_end|>");
        assertThat(tok.decode(ids)).isEqualTo("assistant\nThe answer is 42.");
        assertThat(tok.decode(ids, false)).isEqualTo("<|im_start|>assistant\nThe answer is 42.<|im_end|>");
        // Qwen2-VL's embedding has 151,936 rows: ids past the tokenizer have no text
        assertThat(tok.decode(ImmutableIntArray.of(9707, 151_900, 4337))).isEqualTo("Hello World");
        assertThatThrownBy(() -> tok.decode(ImmutableIntArray.of(9707, -3)))
                .hasMessageContaining("token id -3 at position 1 is negative");
        // a multi-byte character split across tokens decodes whole; a lone half becomes U+FFFD
        String cuneiform = "\uD808\uDC00\uD808\uDC01";
        ImmutableIntArray split = tok.encode(cuneiform);
        assertThat(split.length()).isGreaterThan(2);
        assertThat(tok.decode(split)).isEqualTo(cuneiform);
        assertThat(tok.decode(ImmutableIntArray.of(split.get(0)))).isEqualTo("\ufffd");
    }

    @Property(tries = 300)
    void decodeInvertsEncodeUpToNfc(@ForAll String text) {
        String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
        // unpaired surrogates are not text: they reach the UTF-8 encoder as '?' (as they would a file)
        String expected = new String(nfc.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                java.nio.charset.StandardCharsets.UTF_8);
        assertThat(tok.decode(tok.encode(text))).isEqualTo(expected);
    }

    @Test
    void hostileTextIsBoundedAndStaysFast() {
        String letters = "a".repeat(1_000_000);
        String spaces = " ".repeat(1_000_000) + "x";
        String brackets = "<|".repeat(500_000);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            assertThat(tok.decode(tok.encode(letters))).isEqualTo(letters);
            assertThat(tok.decode(tok.encode(spaces))).isEqualTo(spaces);
            assertThat(tok.decode(tok.encodeWithSpecialTokens(brackets))).isEqualTo(brackets);
        });
        assertThatThrownBy(() -> tok.encode("x".repeat(ByteLevelBpeTokenizer.MAX_TEXT_CHARS + 1)))
                .hasMessageContaining("over the tokenizer's limit of " + ByteLevelBpeTokenizer.MAX_TEXT_CHARS);
    }

    private java.util.List<Integer> ids(String text) {
        return tok.encode(text).asList();
    }
}
