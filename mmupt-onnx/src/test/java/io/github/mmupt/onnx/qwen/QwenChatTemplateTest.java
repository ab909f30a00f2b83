package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Qwen2-VL template rendered for one user turn. The expected strings are what {@code apply_chat_template}
 * gives for this template with {@code add_generation_prompt=True}, derived by hand from the template text (the
 * default system turn, the image marker, the end of each turn, the generation prompt).
 */
class QwenChatTemplateTest {

    @TempDir
    Path dir;

    @Test
    void oneUserTurnWithAnImageAsApplyChatTemplateRendersIt() throws IOException {
        QwenChatTemplate t = QwenChatTemplate.parse(QwenTinyBuilder.CHAT_TEMPLATE, "test");
        assertThat(t.systemMessage()).contains("You are a helpful assistant.");
        assertThat(t.render("Describe this image.", 1)).isEqualTo("<|im_start|>system\nYou are a helpful assistant."
                + "<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe this image."
                + "<|im_end|>\n<|im_start|>assistant\n");
        // an image placeholder puts the image where it stands
        assertThat(t.render("Look: <image> How many?", 1)).contains("user\nLook: <|vision_start|><|image_pad|>"
                + "<|vision_end|> How many?<|im_end|>");
        assertThat(t.render("No picture", 0)).endsWith("<|im_start|>user\nNo picture<|im_end|>\n<|im_start|>assistant\n");
        assertThatThrownBy(() -> t.userTurn("<image> and <image>", 1)).hasMessageContaining("2 image placeholders");
    }

    @Test
    void aTemplateWithoutTheDefaultSystemTurnRendersNone() throws IOException {
        String noSystem = QwenTinyBuilder.CHAT_TEMPLATE.replace("{% if loop.first and message['role'] != 'system' %}"
                + "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}", "");
        QwenChatTemplate t = QwenChatTemplate.parse(noSystem, "test");
        assertThat(t.systemMessage()).isEqualTo(Optional.empty());
        assertThat(t.render("Hi", 0)).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void anotherTemplateIsRefusedNamingWhatIsMissing() throws IOException {
        Path file = dir.resolve("chat_template.json");
        Files.writeString(file, "{\"chat_template\": \"{% for m in messages %}[INST] {{ m['content'] }} [/INST]"
                + "{% endfor %}\"}");
        assertThatThrownBy(() -> QwenChatTemplate.read(file)).isInstanceOf(IOException.class)
                .hasMessageContaining("chat_template.json").hasMessageContaining("not the Qwen2-VL / Qwen2.5-VL ChatML")
                .hasMessageContaining("<|vision_start|><|image_pad|><|vision_end|>");
        Files.writeString(file, "{\"chat_template\": [{\"name\": \"default\", \"template\": \"x\"}]}");
        assertThatThrownBy(() -> QwenChatTemplate.read(file)).hasMessageContaining("named templates are not supported");
    }
}
