package io.github.mmupt.onnx.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a Hugging Face {@code tokenizer.json} into the parts of a byte-level BPE pipeline, refusing anything it
 * would not reproduce exactly: every component it does not implement is an error that names the component and
 * lists what is supported, instead of a tokenizer that silently encodes differently from the one the model was
 * trained with.
 */
final class TokenizerJson {

    /** GPT-2's pre-tokenizer regex, which {@code ByteLevel} applies when its {@code use_regex} is true. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a {@code tokenizer.json} describes, ready to encode with. */
    record Parts(List<Normalizer.Form> normalizers, List<Pattern> splits, Map<String, Integer> vocab,
            BpeMergeTable merges, boolean ignoreMerges, List<AddedToken> addedTokens) {}

    private final Path file;

    private TokenizerJson(Path file) {
        this.file = file;
    }

    static Parts read(Path file, long maxBytes) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("tokenizer file not found: " + file.toAbsolutePath());
        }
        long size = Files.size(file);
        if (size > maxBytes) {
            throw new IOException(file.toAbsolutePath() + " has " + size + " bytes; a tokenizer.json has at most "
                    + maxBytes + " here (Qwen's is 11 MB)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(file.toAbsolutePath() + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        return new TokenizerJson(file).parts(root);
    }

    private Parts parts(JsonNode root) throws IOException {
        if (root == null || !root.isObject()) {
            throw error("", "expected a JSON object with \"model\", \"added_tokens\", \"normalizer\" and "
                    + "\"pre_tokenizer\"");
        }
        JsonNode model = root.path("model");
        if (!model.isObject()) {
            throw error("model", "missing; expected the BPE model object");
        }
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw error("model.type", "is \"" + type + "\"; only byte-level \"BPE\" models are supported");
        }
        if (!model.path("dropout").isNull() && !model.path("dropout").isMissingNode()
                && model.path("dropout").asDouble() != 0.0) {
            throw error("model.dropout", "is " + model.path("dropout") + "; BPE dropout (random merges) is not "
                    + "supported: encoding must be deterministic");
        }
        for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!model.path(affix).asText("").isEmpty()) {
                throw error("model." + affix, "is \"" + model.path(affix).asText() + "\"; byte-level BPE has none");
            }
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            throw error("model.byte_fallback", "is true (a SentencePiece-style model); only byte-level BPE is "
                    + "supported");
        }
        Map<String, Integer> vocab = vocab(model.path("vocab"));
        BpeMergeTable merges = merges(model.path("merges"), vocab);
        List<AddedToken> added = addedTokens(root.path("added_tokens"));
        List<Normalizer.Form> normalizers = new ArrayList<>();
        normalizer(root.path("normalizer"), "normalizer", normalizers);
        if (!normalizers.isEmpty()) {
            for (JsonNode t : root.path("added_tokens")) {
                if (t.path("normalized").asBoolean(false)) {
                    throw error("added_tokens", "token \"" + t.path("content").asText() + "\" has normalized: true "
                            + "with a normalizer; only added tokens matched on the raw text are supported");
                }
            }
        }
        List<Pattern> splits = new ArrayList<>();
        preTokenizer(root.path("pre_tokenizer"), splits);
        decoder(root.path("decoder"));
        return new Parts(List.copyOf(normalizers), List.copyOf(splits), vocab, merges,
                model.path("ignore_merges").asBoolean(false), added);
    }

    private Map<String, Integer> vocab(JsonNode node) throws IOException {
        if (!node.isObject() || node.isEmpty()) {
            throw error("model.vocab", "missing or empty; expected an object of token -> id");
        }
        Map<String, Integer> vocab = new HashMap<>(node.size() * 2);
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || !e.getValue().isIntegralNumber() || e.getValue().asInt() < 0) {
                throw error("model.vocab", "token \"" + e.getKey() + "\" has id " + e.getValue()
                        + "; expected an integer >= 0");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        if (new java.util.HashSet<>(vocab.values()).size() != vocab.size()) {
            throw error("model.vocab", "two tokens share an id");
        }
        return Map.copyOf(vocab);
    }

    private BpeMergeTable merges(JsonNode node, Map<String, Integer> vocab) throws IOException {
        if (!node.isArray()) {
            throw error("model.merges", "missing; expected a list of merges (\"a b\" or [\"a\", \"b\"])");
        }
        BpeMergeTable table = new BpeMergeTable(node.size());
        for (int rank = 0; rank < node.size(); rank++) {
            JsonNode m = node.get(rank);
            String left;
            String right;
            if (m.isTextual()) {
                String s = m.asText();
                int space = s.indexOf(' ');
                if (space <= 0 || space != s.lastIndexOf(' ') || space == s.length() - 1) {
                    throw error("model.merges[" + rank + "]", "is \"" + s + "\"; expected two tokens separated by "
                            + "one space");
                }
                left = s.substring(0, space);
                right = s.substring(space + 1);
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                throw error("model.merges[" + rank + "]", "is " + m + "; expected \"a b\" or [\"a\", \"b\"]");
            }
            Integer l = vocab.get(left);
            Integer r = vocab.get(right);
            Integer merged = vocab.get(left + right);
            if (l == null || r == null || merged == null) {
                String missing = l == null ? left : r == null ? right : left + right;
                throw error("model.merges[" + rank + "]", "(" + left + " + " + right + ") uses \"" + missing
                        + "\", which is not in model.vocab");
            }
            table.put(l, r, rank, merged);
        }
        return table;
    }

    private List<AddedToken> addedTokens(JsonNode node) throws IOException {
        if (node.isMissingNode() || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw error("added_tokens", "expected a list");
        }
        List<AddedToken> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode t = node.get(i);
            String where = "added_tokens[" + i + "]";
            if (!t.path("id").isIntegralNumber() || !t.path("content").isTextual()
                    || t.path("content").asText().isEmpty()) {
                throw error(where, "expected {\"id\": int, \"content\": non-empty string, ...}, was " + t);
            }
            for (String flag : List.of("single_word", "lstrip", "rstrip")) {
                if (t.path(flag).asBoolean(false)) {
                    throw error(where, "\"" + t.path("content").asText() + "\" has " + flag + ": true, which is not "
                            + "supported (only tokens matched exactly as written)");
                }
            }
            out.add(new AddedToken(t.path("id").asInt(), t.path("content").asText(), t.path("special")
                    .asBoolean(false)));
        }
        return List.copyOf(out);
    }

    private void normalizer(JsonNode node, String where, List<Normalizer.Form> out) throws IOException {
        if (node.isMissingNode() || node.isNull()) {
            return;
        }
        String type = node.path("type").asText("");
        switch (type) {
            case "NFC" -> out.add(Normalizer.Form.NFC);
            case "NFD" -> out.add(Normalizer.Form.NFD);
            case "NFKC" -> out.add(Normalizer.Form.NFKC);
            case "NFKD" -> out.add(Normalizer.Form.NFKD);
            case "Sequence" -> {
                JsonNode list = node.path("normalizers");
                for (int i = 0; i < list.size(); i++) {
                    normalizer(list.get(i), where + ".normalizers[" + i + "]", out);
                }
            }
            default -> throw error(where, "type \"" + type + "\" is not supported; supported: NFC, NFD, NFKC, "
                    + "NFKD and a Sequence of them");
        }
    }

    private void preTokenizer(JsonNode node, List<Pattern> splits) throws IOException {
        List<JsonNode> steps = new ArrayList<>();
        if (node.path("type").asText("").equals("Sequence")) {
            node.path("pretokenizers").forEach(steps::add);
        } else if (!node.isMissingNode() && !node.isNull()) {
            steps.add(node);
        }
        if (steps.isEmpty() || !steps.get(steps.size() - 1).path("type").asText("").equals("ByteLevel")) {
            throw error("pre_tokenizer", "must end with a ByteLevel step (this reads byte-level BPE tokenizers "
                    + "only), was " + node);
        }
        for (int i = 0; i < steps.size(); i++) {
            JsonNode step = steps.get(i);
            String where = "pre_tokenizer step " + i;
            String type = step.path("type").asText("");
            if (type.equals("Split") && i < steps.size() - 1) {
                if (!step.path("behavior").asText("").equals("Isolated") || step.path("invert").asBoolean(false)) {
                    throw error(where, "Split with behavior " + step.path("behavior") + " and invert "
                            + step.path("invert") + "; only behavior \"Isolated\" without invert is supported");
                }
                JsonNode pattern = step.path("pattern");
                if (pattern.path("Regex").isTextual()) {
                    splits.add(compile(pattern.path("Regex").asText(), where));
                } else if (pattern.path("String").isTextual()) {
                    splits.add(Pattern.compile(Pattern.quote(pattern.path("String").asText())));
                } else {
                    throw error(where, "Split pattern " + pattern + "; expected {\"Regex\": ...} or {\"String\": ...}");
                }
            } else if (type.equals("ByteLevel") && i == steps.size() - 1) {
                if (step.path("add_prefix_space").asBoolean(false)) {
                    throw error(where, "ByteLevel with add_prefix_space: true is not supported");
                }
                if (step.path("use_regex").asBoolean(true)) {
                    splits.add(compile(GPT2_PATTERN, where));
                }
            } else {
                throw error(where, "type \"" + type + "\" is not supported here; supported: Split steps followed by "
                        + "one final ByteLevel");
            }
        }
    }

    private void decoder(JsonNode node) throws IOException {
        if (!node.path("type").asText("").equals("ByteLevel")) {
            throw error("decoder", "is " + node + "; only the ByteLevel decoder is supported");
        }
    }

    private Pattern compile(String regex, String where) throws IOException {
        try {
            // Unicode classes for \s, \w and case folding: Hugging Face's Oniguruma regexes are Unicode-aware
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw error(where, "regex " + regex + " does not compile in Java: " + e.getDescription());
        }
    }

    private IOException error(String field, String what) {
        return new IOException(file.toAbsolutePath() + (field.isEmpty() ? "" : ": " + field) + ": " + what);
    }
}
