package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An export whose embedding graph keeps its table in the decoder's data file (one file shared by two graphs):
 * exporting copies the shared file for the embeddings and writes the decoder's weights to a file of its own, so
 * the copied embeddings still read what they read before.
 */
class SharedDataFileExportTest {

    @TempDir
    Path dir;

    @Test
    void theExportDoesNotRewriteADataFileAnotherGraphReads() throws Exception {
        Path model = dir.resolve("model");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 3, QwenTokenizerFiles.qwen2VlFile());
        Path onnx = model.resolve("onnx");
        Path shared = onnx.resolve("decoder_model_merged.onnx_data");
        ModelProto embed = OnnxModel.read(onnx.resolve("embed_tokens.onnx")).proto();
        ModelProto.Builder b = embed.toBuilder();
        for (int i = 0; i < b.getGraph().getInitializerCount(); i++) {
            TensorProto t = b.getGraph().getInitializer(i);
            if (t.getRawData().size() < 1024) {
                continue;
            }
            long offset = Files.size(shared);
            Files.write(shared, t.getRawData().toByteArray(), StandardOpenOption.APPEND);
            b.getGraphBuilder().setInitializer(i, t.toBuilder().clearRawData()
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", shared.getFileName().toString()))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(t.getRawData().size()))));
        }
        Files.write(onnx.resolve("embed_tokens.onnx"), b.build().toByteArray());
        assertThat(OnnxModel.read(onnx.resolve("embed_tokens.onnx")).externalDataFiles())
                .containsExactly("decoder_model_merged.onnx_data");

        Prompt prompt = new Prompt("s", List.of(), "How many squares?");
        List<PromptResponse> seq = List.of(new PromptResponse(prompt, ImmutableIntArray.of(17, 18, 19)));
        HiddenStates before;
        HeadWeights trained;
        Path exported = dir.resolve("exported");
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            before = policy.responseHiddenStates(seq);
            float[] w = policy.initialHead().weight();
            w[5] += 0.25f;
            trained = HeadWeights.full(policy.initialHead().shape(), w);
            policy.exportModel(exported, trained);
        }
        assertThat(OnnxModel.read(exported.resolve("onnx/decoder_model_merged.onnx")).externalDataFiles())
                .as("the decoder's own file").containsExactly("decoder_model_merged.onnx.mmupt_data");
        try (OnnxPolicy reopened = OnnxPolicy.open(exported, PolicyOptions.defaults())) {
            assertThat(reopened.initialHead()).isEqualTo(trained);
            assertThat(reopened.responseHiddenStates(seq).values()).as("the embeddings read what they read before")
                    .isEqualTo(before.values());
        }
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
