package io.github.mmupt.onnx.tokenizer;

import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.policy.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face byte-level BPE tokenizer read from its {@code tokenizer.json} (Qwen2, Qwen2-VL, Qwen2.5-VL,
 * GPT-2 and their relatives), in pure Java and equal token for token to Hugging Face's {@code tokenizers} on the
 * files it accepts; a file with a component it does not reproduce is refused with that component named. The
 * pipeline: added tokens matched verbatim (leftmost, longest), the rest normalised (NFC for Qwen), split by the
 * pre-tokenizer regexes (each match its own piece), written in GPT-2's byte alphabet and merged by rank.
 *
 * <p>Text is untrusted: it is bounded to {@value #MAX_TEXT_CHARS} characters, and the merge costs O(n log n) in
 * the length of a piece, so no input makes encoding quadratic. Instances are immutable and thread-safe.
 *
 * <pre>{@code
 * ByteLevelBpeTokenizer tok = ByteLevelBpeTokenizer.read(modelDir.resolve("tokenizer.json"));
 * tok.encode("Describe this image.");                  // [74785, 419, 2168, 13] for Qwen2-VL
 * tok.encodeWithSpecialTokens("<|im_start|>user\n");   // [151644, 872, 198]
 * }</pre>
 */
public final class ByteLevelBpeTokenizer implements Tokenizer {

    /** The largest {@code tokenizer.json} read (Qwen's is 11 MB; the largest vocabularies about 35 MB). */
    public static final long MAX_FILE_BYTES = 128L << 20;
    /** The longest text encoded at once, in UTF-16 characters: far beyond any prompt, and a bound on work. */
    public static final int MAX_TEXT_CHARS = 1 << 22;

    private final List<Normalizer.Form> normalizers;
    private final List<Pattern> splits;
    private final BpeModel model;
    private final Map<String, Integer> vocab;
    private final String[] tokens;
    private final boolean[] special;
    private final List<AddedToken> addedTokens;
    private final Map<String, AddedToken> addedByContent;
    /** Added tokens by first character, longest first, so the first that matches is the longest. */
    private final Map<Character, AddedToken[]> addedByFirstChar;
    private final Map<Character, AddedToken[]> plainByFirstChar;

    private ByteLevelBpeTokenizer(TokenizerJson.Parts parts) {
        this.normalizers = parts.normalizers();
        this.splits = parts.splits();
        this.model = new BpeModel(parts.vocab(), parts.merges(), parts.ignoreMerges());
        this.vocab = parts.vocab();
        this.addedTokens = parts.addedTokens();
        int size = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        for (AddedToken t : addedTokens) {
            size = Math.max(size, t.id() + 1);
        }
        tokens = new String[size];
        special = new boolean[size];
        vocab.forEach((token, id) -> tokens[id] = token);
        Map<String, AddedToken> byContent = new HashMap<>();
        for (AddedToken t : addedTokens) {
            if (tokens[t.id()] != null && !tokens[t.id()].equals(t.content()) && vocab.get(tokens[t.id()]) != null
                    && vocab.get(tokens[t.id()]) == t.id()) {
                throw new IllegalArgumentException("added token " + t.id() + " \"" + t.content() + "\" reuses the id of "
                        + "vocabulary token \"" + tokens[t.id()] + "\"");
            }
            tokens[t.id()] = t.content();
            special[t.id()] = t.special();
            byContent.put(t.content(), t);
        }
        this.addedByContent = Map.copyOf(byContent);
        this.addedByFirstChar = byFirstChar(addedTokens);
        this.plainByFirstChar = byFirstChar(addedTokens.stream().filter(t -> !t.special()).toList());
    }

    /**
     * Reads a {@code tokenizer.json}.
     *
     * @param file the file
     * @return the tokenizer
     * @throws IOException naming the file, the field and what was expected: missing, over {@value #MAX_FILE_BYTES}
     *                     bytes, not JSON, or a component this tokenizer does not reproduce exactly
     */
    public static ByteLevelBpeTokenizer read(Path file) throws IOException {
        TokenizerJson.Parts parts = TokenizerJson.read(file, MAX_FILE_BYTES);
        try {
            return new ByteLevelBpeTokenizer(parts);
        } catch (IllegalArgumentException e) {
            throw new IOException(file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    /**
     * {@inheritDoc} Non-special added tokens are matched (they are words); special ones are encoded as the plain
     * text they spell, so a user cannot inject {@code <|im_end|>} through a question.
     */
    @Override
    public ImmutableIntArray encode(String text) {
        return encode(text, plainByFirstChar);
    }

    /**
     * Token ids of text in which every added token, special or not, is parsed, as Hugging Face's
     * {@code encode(text, add_special_tokens=False)} does: for prompts the library renders itself (chat
     * templates), never for untrusted text.
     *
     * @param text the text
     * @return its token ids
     */
    public ImmutableIntArray encodeWithSpecialTokens(String text) {
        return encode(text, addedByFirstChar);
    }

    /** Text of ids, special tokens left out; ids without a token (the model's padding rows) are skipped. */
    @Override
    public String decode(ImmutableIntArray ids) {
        return decode(ids, true);
    }

    /**
     * Text of ids as Hugging Face's ByteLevel decoder gives it: bytes joined across tokens, then UTF-8 with
     * U+FFFD for incomplete or invalid sequences. Ids at or above {@link #vocabSize()} have no token (a model's
     * embedding is often padded past the tokenizer) and are skipped.
     *
     * @param ids               token ids
     * @param skipSpecialTokens whether to leave out special added tokens
     * @return the text
     * @throws IllegalArgumentException for a negative id
     */
    public String decode(ImmutableIntArray ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < ids.length(); i++) {
            int id = ids.get(i);
            if (id < 0) {
                throw new IllegalArgumentException("token id " + id + " at position " + i + " is negative");
            }
            if (id >= tokens.length || tokens[id] == null || (skipSpecialTokens && special[id])) {
                continue;
            }
            writeTokenBytes(tokens[id], bytes);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * The id of a vocabulary or added token.
     *
     * @param token the token as written in {@code tokenizer.json}
     * @return its id, if the tokenizer has it
     */
    public OptionalInt id(String token) {
        AddedToken added = addedByContent.get(token);
        if (added != null) {
            return OptionalInt.of(added.id());
        }
        Integer id = vocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The id of a token the caller relies on, such as {@code <|image_pad|>}.
     *
     * @param token the token as written in {@code tokenizer.json}
     * @return its id
     * @throws IllegalArgumentException naming the token when the tokenizer has none
     */
    public int requireId(String token) {
        return id(token).orElseThrow(() -> new IllegalArgumentException("the tokenizer has no token \"" + token
                + "\""));
    }

    /**
     * The token of an id.
     *
     * @param id a token id
     * @return the token as written in {@code tokenizer.json}
     * @throws IllegalArgumentException when no token has the id
     */
    public String token(int id) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new IllegalArgumentException("no token has id " + id + " (vocabulary size " + tokens.length + ")");
        }
        return tokens[id];
    }

    /** {@return the added tokens, in file order} */
    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    private ImmutableIntArray encode(String text, Map<Character, AddedToken[]> matchable) {
        if (text.length() > MAX_TEXT_CHARS) {
            throw new IllegalArgumentException("text of " + text.length() + " characters is over the tokenizer's "
                    + "limit of " + MAX_TEXT_CHARS);
        }
        ImmutableIntArray.Builder out = ImmutableIntArray.builder(text.length() / 3 + 4);
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken match = matchAt(text, i, matchable);
            if (match == null) {
                i++;
                continue;
            }
            encodePlain(text.substring(start, i), out);
            out.add(match.id());
            i += match.content().length();
            start = i;
        }
        encodePlain(text.substring(start), out);
        return out.build();
    }

    private static AddedToken matchAt(String text, int i, Map<Character, AddedToken[]> matchable) {
        AddedToken[] candidates = matchable.get(text.charAt(i));
        if (candidates != null) {
            for (AddedToken t : candidates) {
                if (text.startsWith(t.content(), i)) {
                    return t;
                }
            }
        }
        return null;
    }

    private void encodePlain(String text, ImmutableIntArray.Builder out) {
        if (text.isEmpty()) {
            return;
        }
        String normalized = text;
        for (Normalizer.Form form : normalizers) {
            if (!Normalizer.isNormalized(normalized, form)) {
                normalized = Normalizer.normalize(normalized, form);
            }
        }
        List<String> pieces = List.of(normalized);
        for (Pattern split : splits) {
            pieces = splitIsolated(pieces, split);
        }
        for (String piece : pieces) {
            out.addAll(model.encode(piece, piece.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** Each match and each gap between matches becomes its own piece (Hugging Face's "Isolated"). */
    private static List<String> splitIsolated(List<String> pieces, Pattern pattern) {
        List<String> out = new ArrayList<>(pieces.size() * 4);
        for (String piece : pieces) {
            Matcher m = pattern.matcher(piece);
            int last = 0;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue;
                }
                if (m.start() > last) {
                    out.add(piece.substring(last, m.start()));
                }
                out.add(piece.substring(m.start(), m.end()));
                last = m.end();
            }
            if (last < piece.length()) {
                out.add(piece.substring(last));
            }
        }
        return out;
    }

    /** A token's bytes: its characters read in the byte alphabet, or (added tokens) its own UTF-8 when not. */
    private static void writeTokenBytes(String token, ByteArrayOutputStream out) {
        byte[] mapped = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = ByteLevelAlphabet.byteOf(token.charAt(i));
            if (b < 0) {
                out.writeBytes(token.getBytes(StandardCharsets.UTF_8));
                return;
            }
            mapped[i] = (byte) b;
        }
        out.writeBytes(mapped);
    }

    private static Map<Character, AddedToken[]> byFirstChar(List<AddedToken> added) {
        Map<Character, List<AddedToken>> groups = new HashMap<>();
        for (AddedToken t : added) {
            groups.computeIfAbsent(t.content().charAt(0), c -> new ArrayList<>()).add(t);
        }
        Map<Character, AddedToken[]> out = new HashMap<>();
        groups.forEach((c, list) -> {
            AddedToken[] sorted = list.toArray(AddedToken[]::new);
            Arrays.sort(sorted, Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            out.put(c, sorted);
        });
        return Map.copyOf(out);
    }
}
