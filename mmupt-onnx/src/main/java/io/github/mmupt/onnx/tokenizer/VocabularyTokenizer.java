package io.github.mmupt.onnx.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.policy.Tokenizer;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A word-level tokenizer over a fixed vocabulary, for the tiny model: text is split into LaTeX commands (with
 * an opening brace, so <code>\boxed{</code> is one token), words, single digits and single symbols; white space
 * separates and is restored on decoding. Unknown pieces become {@value #UNKNOWN}. The first tokens of every
 * vocabulary are the specials: {@value #PAD}, {@value #BOS}, {@value #EOS}, {@value #UNKNOWN},
 * {@value #IMAGE}, {@value #ANSWER}.
 *
 * <pre>{@code
 * VocabularyTokenizer tok = VocabularyTokenizer.of(List.of("how", "many", "red", "?", "\\boxed{", "}", "3"));
 * tok.decode(tok.encode("how many red ?"));   // "how many red?"
 * }</pre>
 */
public final class VocabularyTokenizer implements Tokenizer {

    /** Padding. */
    public static final String PAD = "<pad>";
    /** Start of a sequence. */
    public static final String BOS = "<bos>";
    /** End of a sequence. */
    public static final String EOS = "<eos>";
    /** Any piece not in the vocabulary. */
    public static final String UNKNOWN = "<unk>";
    /** One image position (a vision-encoder row). */
    public static final String IMAGE = "<image>";
    /** Marks where the answer starts. */
    public static final String ANSWER = "<answer>";
    private static final List<String> SPECIALS = List.of(PAD, BOS, EOS, UNKNOWN, IMAGE, ANSWER);
    private static final Pattern PIECE = Pattern.compile("\\\\[A-Za-z]+\\{?|[A-Za-z]+|[0-9]|\\S");
    private static final Set<String> ATTACH_LEFT = Set.of(".", ",", "?", "!", ":", ";", ")", "}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<String> tokens;
    private final Map<String, Integer> ids;

    private VocabularyTokenizer(List<String> tokens) {
        this.tokens = List.copyOf(tokens);
        this.ids = new HashMap<>();
        for (int i = 0; i < this.tokens.size(); i++) {
            if (ids.put(this.tokens.get(i), i) != null) {
                throw new IllegalArgumentException("duplicate token '" + this.tokens.get(i) + "' in the vocabulary");
            }
        }
    }

    /**
     * The specials followed by {@code words} (duplicates of specials are dropped).
     *
     * @param words the vocabulary after the special tokens
     * @return the tokenizer
     */
    public static VocabularyTokenizer of(List<String> words) {
        List<String> all = new ArrayList<>(SPECIALS);
        for (String w : words) {
            if (!all.contains(w)) {
                all.add(w);
            }
        }
        return new VocabularyTokenizer(all);
    }

    /** A word vocabulary of a million words is far beyond this family; anything larger is not one. */
    static final long MAX_FILE_BYTES = 64L << 20;

    /**
     * Reads a file written by {@link #write}.
     *
     * @param file a file written by {@link #write}
     * @return the tokenizer
     * @throws IOException naming the file and what is wrong: not JSON, not an object, no {@code tokens} list of
     *                     distinct strings starting with the special tokens, or larger than {@value #MAX_FILE_BYTES}
     *                     bytes
     */
    public static VocabularyTokenizer read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("tokenizer file not found: " + file.toAbsolutePath());
        }
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file.toAbsolutePath() + " has " + Files.size(file) + " bytes; a word-level tokenizer "
                    + "file has at most " + MAX_FILE_BYTES);
        }
        Object parsed;
        try {
            parsed = JSON.readValue(file.toFile(), Object.class);
        } catch (IOException e) {
            throw new IOException(file.toAbsolutePath() + " is not valid JSON: "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage()
                            : e.getMessage()), e);
        }
        if (!(parsed instanceof Map<?, ?> json)) {
            throw new IOException(file.toAbsolutePath() + ": expected a JSON object {\"tokens\": [...]}");
        }
        Object list = json.get("tokens");
        if (!(list instanceof List<?> raw) || raw.size() < SPECIALS.size()) {
            throw new IOException(file.toAbsolutePath() + ": expected {\"tokens\": [...]} starting with " + SPECIALS);
        }
        if (!raw.stream().allMatch(String.class::isInstance)) {
            throw new IOException(file.toAbsolutePath() + ": field \"tokens\" must hold strings only");
        }
        List<String> tokens = raw.stream().map(String::valueOf).toList();
        if (new java.util.HashSet<>(tokens).size() != tokens.size()) {
            throw new IOException(file.toAbsolutePath() + ": field \"tokens\" holds a token more than once");
        }
        if (!tokens.subList(0, SPECIALS.size()).equals(SPECIALS)) {
            throw new IOException(file.toAbsolutePath() + ": the vocabulary must start with " + SPECIALS);
        }
        return new VocabularyTokenizer(tokens);
    }

    /**
     * Writes the vocabulary as JSON, atomically.
     *
     * @param file where to write
     * @throws IOException when writing fails
     */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, out -> JSON.writeValue(out, Map.of("format", "mmupt-words/1", "tokens", tokens)));
    }

    @Override
    public int vocabSize() {
        return tokens.size();
    }

    /**
     * The id of a token.
     *
     * @param token a token of the vocabulary
     * @return its id
     * @throws IllegalArgumentException when the token is not in the vocabulary
     */
    public int id(String token) {
        Integer id = ids.get(token);
        if (id == null) {
            throw new IllegalArgumentException("'" + token + "' is not in the vocabulary");
        }
        return id;
    }

    /**
     * The token of an id.
     *
     * @param id an id in [0, V)
     * @return its token
     */
    public String token(int id) {
        return tokens.get(id);
    }

    /** {@return the vocabulary, specials first} */
    public List<String> tokens() {
        return tokens;
    }

    @Override
    public ImmutableIntArray encode(String text) {
        ImmutableIntArray.Builder out = ImmutableIntArray.builder();
        Matcher m = PIECE.matcher(text);
        int unknown = ids.get(UNKNOWN);
        while (m.find()) {
            String piece = m.group();
            Integer id = SPECIALS.contains(piece) ? null : ids.get(piece);
            out.add(id == null ? unknown : id);
        }
        return out.build();
    }

    @Override
    public String decode(ImmutableIntArray ids) {
        StringBuilder sb = new StringBuilder();
        String previous = null;
        for (int i = 0; i < ids.length(); i++) {
            int id = ids.get(i);
            if (id < 0 || id >= tokens.size()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + tokens.size() + ")");
            }
            String t = tokens.get(id);
            if (SPECIALS.contains(t) && !t.equals(UNKNOWN)) {
                continue;
            }
            if (previous != null && !joins(previous, t)) {
                sb.append(' ');
            }
            sb.append(t);
            previous = t;
        }
        return sb.toString();
    }

    /** Whether {@code next} is written right after {@code previous}, without a space. */
    private static boolean joins(String previous, String next) {
        return previous.endsWith("{") || previous.equals("(") || ATTACH_LEFT.contains(next)
                || (isDigit(previous) && isDigit(next));
    }

    private static boolean isDigit(String s) {
        return s.length() == 1 && Character.isDigit(s.charAt(0));
    }
}
