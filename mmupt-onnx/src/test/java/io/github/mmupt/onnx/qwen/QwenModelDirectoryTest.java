package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A directory laid out as onnx-community's Qwen2-VL-2B-Instruct export (config values as published). */
class QwenModelDirectoryTest {

    private static final String CONFIG = """
            {"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
             "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
             "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": true, "rms_norm_eps": 1e-06,
             "rope_theta": 1000000.0, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
             "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654,
             "image_token_id": 151655, "video_token_id": 151656, "bos_token_id": 151643, "eos_token_id": 151645,
             "vision_config": {"depth": 32, "embed_dim": 1280, "hidden_size": 1536, "num_heads": 16,
                               "in_chans": 3, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}}
            """;

    @TempDir
    Path dir;

    private void layout(String... suffixes) throws IOException {
        Files.writeString(dir.resolve("config.json"), CONFIG);
        Files.writeString(dir.resolve("generation_config.json"), """
                {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
                 "eos_token_id": [151645, 151643], "temperature": 0.01, "top_k": 1, "top_p": 0.001}""");
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Files.writeString(dir.resolve("preprocessor_config.json"), "{}");
        Files.writeString(dir.resolve("chat_template.json"), "{\"chat_template\": \"\"}");
        Files.createDirectories(dir.resolve("onnx"));
        for (String suffix : suffixes) {
            for (String graph : QwenModelDirectory.GRAPHS) {
                Files.writeString(dir.resolve("onnx/" + graph + suffix + ".onnx"), "");
            }
        }
    }

    @Test
    void opensTheFamilyFromConfigJsonWithTheChosenVariant() throws IOException {
        layout("", "_q4f16");
        QwenModelDirectory model = QwenModelDirectory.open(dir, OnnxVariant.Q4F16);
        assertThat(model.config().modelType()).isEqualTo("qwen2_vl");
        assertThat(model.config().headDim()).isEqualTo(128);
        assertThat(model.config().numKeyValueHeads()).isEqualTo(2);
        assertThat(model.config().tieWordEmbeddings()).isTrue();
        assertThat(model.config().imageTokenId()).isEqualTo(151655);
        assertThat(model.decoder().getFileName()).hasToString("decoder_model_merged_q4f16.onnx");
        assertThat(model.generationConfig().eosTokenIds()).containsExactly(151645, 151643);
        assertThat(model.generationConfig().padTokenId()).hasValue(151643);
        assertThat(QwenModelDirectory.open(dir, OnnxVariant.FP32).visionEncoder().getFileName())
                .hasToString("vision_encoder.onnx");
    }

    @Test
    void anAbsentVariantListsTheOnesPresent() throws IOException {
        layout("_fp16", "_q4f16", "_bnb4");
        assertThatThrownBy(() -> QwenModelDirectory.open(dir, OnnxVariant.Q4))
                .hasMessageContaining("has no Q4 weights")
                .hasMessageContaining("the variants it has: \"_bnb4\" (not supported), FP16, Q4F16");
    }

    @Test
    void eachMissingFileIsNamed() throws IOException {
        layout("");
        Files.delete(dir.resolve("tokenizer.json"));
        Files.delete(dir.resolve("onnx/embed_tokens.onnx"));
        Files.delete(dir.resolve("chat_template.json"));
        assertThatThrownBy(() -> QwenModelDirectory.open(dir, OnnxVariant.FP32))
                .hasMessageContaining("(qwen2_vl, FP32) lacks onnx/embed_tokens.onnx, tokenizer.json, "
                        + "chat_template.json or tokenizer_config.json");
    }

    @Test
    void anUnknownFamilyOrABrokenConfigIsNamed() throws IOException {
        layout("");
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("qwen2_vl", "llava"));
        assertThatThrownBy(() -> QwenModelDirectory.open(dir, OnnxVariant.FP32))
                .hasMessageContaining("model_type \"llava\" is not supported; supported: [qwen2_vl, qwen2_5_vl]");
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("\"num_key_value_heads\": 2,", ""));
        assertThatThrownBy(() -> QwenModelDirectory.open(dir, OnnxVariant.FP32))
                .hasMessageContaining("config.json: field num_key_value_heads is missing; expected an integer");
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("[16, 24, 24]", "[16, 24, 16]"));
        assertThatThrownBy(() -> QwenModelDirectory.open(dir, OnnxVariant.FP32))
                .hasMessageContaining("mrope_section [16, 24, 16] must be 3 sizes summing to half the head dim 128");
        Files.writeString(dir.resolve("config.json"), CONFIG);
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": []}");
        assertThatThrownBy(() -> QwenModelDirectory.open(dir, OnnxVariant.FP32))
                .hasMessageContaining("generation_config.json: eos_token_id is []");
    }

    @Test
    void qwen25VlNestsTextSettingsInNewerExports() throws IOException {
        layout("");
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "qwen2_5_vl", "tie_word_embeddings": true, "image_token_id": 151655,
                 "vision_start_token_id": 151652, "vision_end_token_id": 151653,
                 "text_config": {"hidden_size": 2048, "num_hidden_layers": 36, "num_attention_heads": 16,
                                 "num_key_value_heads": 2, "vocab_size": 151936,
                                 "rope_scaling": {"mrope_section": [16, 24, 24]}},
                 "vision_config": {"spatial_merge_size": 2}}""");
        QwenVlConfig config = QwenModelDirectory.open(dir, OnnxVariant.FP32).config();
        assertThat(config.modelType()).isEqualTo("qwen2_5_vl");
        assertThat(config.hiddenSize()).isEqualTo(2048);
        assertThat(config.numHiddenLayers()).isEqualTo(36);
    }
}
