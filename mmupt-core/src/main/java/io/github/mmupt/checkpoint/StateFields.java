package io.github.mmupt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fields of a checkpoint's {@code state.json}, read with their types checked: a field that is missing, of
 * the wrong type or out of range is an {@link IOException} naming the file and the field, never a
 * {@code NullPointerException} or {@code ClassCastException} from deep inside the loader.
 */
final class StateFields {

    /** A state file is a dozen small fields; anything larger is not one of ours. */
    static final long MAX_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final JsonNode root;

    private StateFields(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    static StateFields read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IOException(file + " has " + size + " bytes; a checkpoint state file has at most " + MAX_BYTES);
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + " must hold a JSON object, got "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)));
        }
        return new StateFields(file, root);
    }

    String text(String field) throws IOException {
        JsonNode n = field(field);
        if (!n.isTextual()) {
            throw wrongType(field, "a string", n);
        }
        return n.textValue();
    }

    /** A boolean that older files lack: absent means false (checkpoints before adapters had no such field). */
    boolean flag(String field) throws IOException {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw wrongType(field, "true or false", n);
        }
        return n.booleanValue();
    }

    /** A whole number that fits a long. */
    long whole(String field) throws IOException {
        JsonNode n = field(field);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw wrongType(field, "an integer", n);
        }
        return n.longValue();
    }

    /** A whole number that fits an int. */
    int integer(String field) throws IOException {
        JsonNode n = field(field);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw wrongType(field, "an integer of at most " + Integer.MAX_VALUE, n);
        }
        return n.intValue();
    }

    /** A finite number. */
    double real(String field) throws IOException {
        JsonNode n = field(field);
        if (!n.isNumber() || !Double.isFinite(n.doubleValue())) {
            throw wrongType(field, "a finite number", n);
        }
        return n.doubleValue();
    }

    private JsonNode field(String field) throws IOException {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            throw new IOException(file + ": field \"" + field + "\" is missing");
        }
        return n;
    }

    private IOException wrongType(String field, String expected, JsonNode got) {
        String shown = got.toString();
        if (shown.length() > 80) {
            shown = shown.substring(0, 80) + "...";
        }
        return new IOException(file + ": field \"" + field + "\" must be " + expected + ", got " + shown);
    }
}
