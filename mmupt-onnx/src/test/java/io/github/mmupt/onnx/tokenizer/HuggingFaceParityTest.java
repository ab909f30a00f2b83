package io.github.mmupt.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.common.primitives.ImmutableIntArray;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Token for token against Hugging Face's own tokenizers (the Rust library, through DJL; test scope only) on a
 * large corpus: this project's sources and documents, and seeded synthetic text built to hit the pipeline's edges
 * (scripts, combining marks and NFC, emoji sequences, every kind of white space, digits, contractions in any
 * case, added tokens inside words, random code points). Decoding is compared on random id sequences.
 */
class HuggingFaceParityTest {

    /** No special tokens added, no truncation (DJL truncates to 512 tokens by default), no padding. */
    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false",
            "padding", "false");

    @Test
    void qwen2VlEncodingAndDecodingMatchHuggingFace() throws IOException {
        Path file = QwenTokenizerFiles.qwen2VlFile();
        List<String> corpus = corpus(20_261_206L, 12_000);
        try (HuggingFaceTokenizer reference = HuggingFaceTokenizer.newInstance(file, OPTIONS)) {
            long tokens = compareEncodings(QwenTokenizerFiles.qwen2Vl(), reference, corpus);
            int decoded = compareDecodings(QwenTokenizerFiles.qwen2Vl(), reference, 7L, 3_000);
            long chars = corpus.stream().mapToLong(String::length).sum();
            System.out.printf("tokenizer parity (Qwen2-VL): %d texts, %d characters, %d tokens identical; %d random "
                    + "id sequences decoded identically%n", corpus.size(), chars, tokens, decoded);
            assertThat(tokens).isGreaterThan(1_000_000);
        }
    }

    @Test
    void gpt2StylePipelineMatchesHuggingFace() throws IOException {
        Path file = QwenTokenizerFiles.gpt2StyleFile();
        List<String> corpus = corpus(99L, 1_000);
        try (HuggingFaceTokenizer reference = HuggingFaceTokenizer.newInstance(file, OPTIONS)) {
            long tokens = compareEncodings(ByteLevelBpeTokenizer.read(file), reference, corpus);
            System.out.printf("tokenizer parity (GPT-2 pipeline): %d texts, %d tokens identical%n", corpus.size(),
                    tokens);
        }
    }

    private static long compareEncodings(ByteLevelBpeTokenizer ours, HuggingFaceTokenizer reference,
            List<String> corpus) {
        long tokens = 0;
        for (int i = 0; i < corpus.size(); i++) {
            String text = corpus.get(i);
            int[] expected = Arrays.stream(reference.encode(text, false, false).getIds()).mapToInt(Math::toIntExact)
                    .toArray();
            int[] actual = ours.encodeWithSpecialTokens(text).toArray();
            if (!Arrays.equals(expected, actual)) {
                int at = Arrays.mismatch(expected, actual);
                throw new AssertionError("text " + i + " (" + text.length() + " chars) differs at token " + at
                        + ": ours " + window(actual, at) + ", Hugging Face " + window(expected, at) + "; text near "
                        + "there: " + escape(ours.decode(ImmutableIntArray.copyOf(
                                Arrays.copyOfRange(expected, Math.max(0, at - 3), Math.min(expected.length, at + 3))),
                                false)));
            }
            tokens += actual.length;
        }
        return tokens;
    }

    private static int compareDecodings(ByteLevelBpeTokenizer ours, HuggingFaceTokenizer reference, long seed,
            int sequences) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int s = 0; s < sequences; s++) {
            int[] ids = new int[1 + random.nextInt(24)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(10) == 0 ? 151_643 + random.nextInt(22) : random.nextInt(151_643);
            }
            long[] longs = Arrays.stream(ids).asLongStream().toArray();
            for (boolean skip : new boolean[] {true, false}) {
                String expected = reference.decode(longs, skip);
                String actual = ours.decode(ImmutableIntArray.copyOf(ids), skip);
                assertThat(actual).as("decode %s (skip specials %s)", Arrays.toString(ids), skip).isEqualTo(expected);
            }
        }
        return sequences;
    }

    /** The project's own text files, whole, then seeded synthetic text. */
    static List<String> corpus(long seed, int synthetic) throws IOException {
        List<String> texts = new ArrayList<>();
        Path root = Path.of("").toAbsolutePath().getParent();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(Files::isRegularFile)
                    .filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/"))
                    .filter(p -> p.toString().matches(".*\\.(java|md|c|h|cu|xml|sh|py|txt|cmake)$"))
                    .sorted()
                    .forEach(p -> {
                        try {
                            texts.add(Files.readString(p, StandardCharsets.UTF_8));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < synthetic; i++) {
            texts.add(syntheticText(random));
        }
        return texts;
    }

    private static final String[] FRAGMENTS = {
        "How many", " red", " circles", "?", " The answer is \\boxed{3}.", "Let's", " we'LL", " it'S", " I'd", "'ve",
        "'re", "can't", " don’t", "café", "cafe\u0301", "Ångström", "A\u030a", "naïve", "Œuvre", "straße", "ﬁ",
        "Привет, мир", " Ελληνικά", "日本語のテキスト", "中文测试", "한국어 문장", "مرحبا بالعالم", "שלום", "हिन्दी",
        "ภาษาไทย", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪", "❤️", "🦙", "１２３", "٣٤٥", "߀", "Ⅻ", "½", "x²", "3.14159", "1,000,000",
        "-42", "1e-5", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|image_pad|>", "<|vision_end|>",
        "<tool_call>", "<|endoftext|>", "<|im_st", "art|>", "\t", "\n", "\r\n", "\n\n\n", "   ", " \u00a0 ", "\u2003",
        "\u3000", "\u2028", "\u0085", "\u200b", "\u200d", "\ufeff", "\u0000", "\ufffd", "ſ", "K", "İ", "ǅ", "ﬀ",
        "```java\nint x = 1;\n```", "$$\\frac{a}{b}$$", "x_{i+1}", "a+b=c", "!!!", "...", "—", "«»", "\\n", "//",
    };

    private static String syntheticText(SplittableRandom random) {
        StringBuilder s = new StringBuilder();
        int parts = 1 + random.nextInt(40);
        for (int p = 0; p < parts; p++) {
            switch (random.nextInt(4)) {
                case 0, 1 -> s.append(FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
                case 2 -> {
                    // random code points, BMP and astral (surrogates excluded: not text), among those the JDK's
                    // Unicode version assigns: Hugging Face's regex engine knows a newer Unicode, in which letters
                    // assigned since (unassigned to Java 17's Unicode 13) match \p{L} there and not here
                    int n = 1 + random.nextInt(6);
                    for (int k = 0; k < n; k++) {
                        int cp;
                        do {
                            cp = random.nextInt(4) == 0 ? 0x10000 + random.nextInt(0x20000) : random.nextInt(0xD800);
                        } while (Character.getType(cp) == Character.UNASSIGNED);
                        s.appendCodePoint(cp);
                    }
                }
                default -> {
                    int n = 1 + random.nextInt(12);
                    for (int k = 0; k < n; k++) {
                        s.append((char) (' ' + random.nextInt(95)));
                    }
                }
            }
        }
        return s.toString();
    }

    private static String window(int[] ids, int at) {
        return Arrays.toString(Arrays.copyOfRange(ids, Math.max(0, at - 3), Math.min(ids.length, at + 4)));
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder();
        s.codePoints().forEach(cp -> out.append(cp < 0x20 || cp > 0x7e ? String.format("\\u{%x}", cp)
                : String.valueOf((char) cp)));
        return out.toString();
    }
}
