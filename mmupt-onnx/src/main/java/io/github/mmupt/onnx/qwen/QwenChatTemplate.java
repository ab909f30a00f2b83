package io.github.mmupt.onnx.qwen;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.mmupt.prompt.Prompt;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The chat template of a Qwen2-VL / Qwen2.5-VL directory, rendered for one user turn with the generation
 * prompt, as {@code apply_chat_template(messages, add_generation_prompt=True)} renders it.
 *
 * <p>The template is Jinja; rather than embed a Jinja engine, this reads the directory's template and
 * recognises the ChatML layout the Qwen-VL templates share (message header, image marker, end of turn,
 * generation prompt, and the default system message when the template has one), refusing a template that
 * lacks any of them with the missing markers named. For one user turn with the images and then the question
 * (or the images where the question has {@value Prompt#IMAGE_PLACEHOLDER}) the rendering is:
 *
 * <pre>
 * &lt;|im_start|&gt;system\nYou are a helpful assistant.&lt;|im_end|&gt;\n      (when the template adds it)
 * &lt;|im_start|&gt;user\n&lt;|vision_start|&gt;&lt;|image_pad|&gt;&lt;|vision_end|&gt;QUESTION&lt;|im_end|&gt;\n
 * &lt;|im_start|&gt;assistant\n
 * </pre>
 *
 * <pre>{@code
 * QwenChatTemplate template = QwenChatTemplate.read(dir.resolve("chat_template.json"));
 * List<QwenChatTemplate.Piece> pieces = template.userTurn(prompt.question(), prompt.images().size());
 * }</pre>
 *
 * @param source        the file it was read from, for messages
 * @param systemMessage the default system message the template adds before a first user turn, if any
 */
public record QwenChatTemplate(String source, Optional<String> systemMessage) {

    /** Opens a turn; the role and a newline follow. */
    public static final String IM_START = "<|im_start|>";
    /** Ends a turn; a newline follows. */
    public static final String IM_END = "<|im_end|>";
    /** Starts an image's tokens. */
    public static final String VISION_START = "<|vision_start|>";
    /** One per image feature row after the processor's expansion. */
    public static final String IMAGE_PAD = "<|image_pad|>";
    /** Ends an image's tokens. */
    public static final String VISION_END = "<|vision_end|>";

    private static final String HEADER = IM_START + "{{ message['role'] }}\n";
    private static final String IMAGE = VISION_START + IMAGE_PAD + VISION_END;
    private static final String GENERATION = "{% if add_generation_prompt %}" + IM_START + "assistant\n";
    private static final Pattern DEFAULT_SYSTEM = Pattern.compile(
            "\\{%-? if loop\\.first and message\\['role'\\] != 'system' -?%\\}" + Pattern.quote(IM_START)
                    + "system\\n(.*?)" + Pattern.quote(IM_END) + "\\n\\{%-? endif -?%\\}", Pattern.DOTALL);

    /**
     * Checks the fields.
     *
     * @param source the component {@code source}, described with the class
     * @param systemMessage the component {@code systemMessage}, described with the class
     */
    public QwenChatTemplate {
        if (source == null || systemMessage == null) {
            throw new IllegalArgumentException("source and systemMessage must not be null");
        }
    }

    /**
     * One piece of a rendered prompt: a special token, literal text, or an image's place.
     *
     * @param kind  what it is
     * @param value the special token or the text; empty for an image
     */
    public record Piece(Kind kind, String value) {

        /** What a piece is. */
        public enum Kind {
            /** A special token, encoded by its id. */
            SPECIAL,
            /** Text from the template or the question, encoded without parsing special tokens. */
            TEXT,
            /** One image: vision start, its pads, vision end. */
            IMAGE
        }
    }

    /**
     * Reads the template from {@code chat_template.json} or {@code tokenizer_config.json} (field
     * {@code chat_template}).
     *
     * @param file the file
     * @return the template
     * @throws IOException naming the file when it has no template or one this version does not render
     */
    public static QwenChatTemplate read(Path file) throws IOException {
        JsonNode root = ConfigFiles.readObject(file, "chat template");
        JsonNode t = root.path("chat_template");
        if (!t.isTextual()) {
            throw new IOException(file.toAbsolutePath() + ": field chat_template is " + (t.isMissingNode() ? "missing"
                    : t.getNodeType()) + "; expected the template text (named templates are not supported)");
        }
        return parse(t.asText(), file.toAbsolutePath().toString());
    }

    /**
     * Recognises a template text.
     *
     * @param template the Jinja text
     * @param source where it came from, for messages
     * @return the template
     * @throws IOException when a marker of the Qwen-VL layout is missing
     */
    public static QwenChatTemplate parse(String template, String source) throws IOException {
        List<String> missing = new ArrayList<>();
        for (String marker : List.of(HEADER, IMAGE, IM_END, GENERATION)) {
            if (!template.contains(marker)) {
                missing.add(marker.replace("\n", "\\n"));
            }
        }
        if (template.contains("{% if add_vision_id %}") && !template.contains("Picture {{ image_count.value }}: ")) {
            missing.add("the usual add_vision_id branch");
        }
        if (!missing.isEmpty()) {
            throw new IOException(source + ": the chat template is not the Qwen2-VL / Qwen2.5-VL ChatML layout this "
                    + "version renders (missing " + String.join(", ", missing) + ")");
        }
        var m = DEFAULT_SYSTEM.matcher(template);
        return new QwenChatTemplate(source, m.find() ? Optional.of(m.group(1)) : Optional.empty());
    }

    /**
     * One user turn and the generation prompt: the images first (or at each {@value Prompt#IMAGE_PLACEHOLDER}
     * of the question), then the question. Adjacent text is merged, as it is in the rendered string.
     *
     * @param question the question, which may hold image placeholders
     * @param images the images
     * @return the pieces, in order
     * @throws IllegalArgumentException when the question has placeholders but not one per image
     */
    public List<Piece> userTurn(String question, int images) {
        List<Piece> out = new ArrayList<>();
        systemMessage.ifPresent(s -> {
            special(out, IM_START);
            text(out, "system\n" + s);
            special(out, IM_END);
            text(out, "\n");
        });
        special(out, IM_START);
        text(out, "user\n");
        int placeholders = Prompt.placeholderCount(question);
        if (placeholders == 0) {
            for (int k = 0; k < images; k++) {
                out.add(new Piece(Piece.Kind.IMAGE, ""));
            }
            text(out, question);
        } else {
            if (placeholders != images) {
                throw new IllegalArgumentException("the question has " + placeholders + " image placeholders but the "
                        + "prompt has " + images + " images");
            }
            String[] parts = question.split(Pattern.quote(Prompt.IMAGE_PLACEHOLDER), -1);
            for (int k = 0; k < parts.length; k++) {
                text(out, parts[k]);
                if (k < parts.length - 1) {
                    out.add(new Piece(Piece.Kind.IMAGE, ""));
                }
            }
        }
        special(out, IM_END);
        text(out, "\n");
        special(out, IM_START);
        text(out, "assistant\n");
        return out;
    }

    /**
     * The rendered string, each image as {@code <|vision_start|><|image_pad|><|vision_end|>} (before the
     * processor expands the pad), as {@code apply_chat_template} returns it.
     *
     * @param question the question
     * @param images the images
     * @return the prompt text
     */
    public String render(String question, int images) {
        StringBuilder sb = new StringBuilder();
        for (Piece p : userTurn(question, images)) {
            sb.append(p.kind() == Piece.Kind.IMAGE ? IMAGE : p.value());
        }
        return sb.toString();
    }

    private static void special(List<Piece> out, String token) {
        out.add(new Piece(Piece.Kind.SPECIAL, token));
    }

    private static void text(List<Piece> out, String text) {
        if (text.isEmpty()) {
            return;
        }
        int last = out.size() - 1;
        if (last >= 0 && out.get(last).kind() == Piece.Kind.TEXT) {
            out.set(last, new Piece(Piece.Kind.TEXT, out.get(last).value() + text));
        } else {
            out.add(new Piece(Piece.Kind.TEXT, text));
        }
    }
}
