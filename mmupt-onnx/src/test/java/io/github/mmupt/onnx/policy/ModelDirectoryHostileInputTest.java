package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.tiny.ModelManifest;
import io.github.mmupt.onnx.tiny.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model directories that are broken or hostile: each refused with the file and the field named, none hangs. */
class ModelDirectoryHostileInputTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path model(String name) throws IOException {
        return TinyModels.write(dir.resolve(name), 7);
    }

    private static void editManifest(Path model, Consumer<ObjectNode> edit) throws IOException {
        Path f = model.resolve(ModelManifest.FILE_NAME);
        ObjectNode m = (ObjectNode) JSON.readTree(f.toFile());
        edit.accept(m);
        Files.writeString(f, m.toString());
    }

    private static void refused(Path model, String... fragments) {
        var a = assertThatThrownBy(() -> assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> OnnxPolicy.open(model, PolicyOptions.defaults()).close())).isInstanceOf(IOException.class);
        for (String f : fragments) {
            a.hasMessageContaining(f);
        }
    }

    @Test
    void aCycleThroughTheLogitsIsRefusedNotWalkedForever() throws Exception {
        Path m = model("cycle");
        Path decoder = m.resolve("decoder.onnx");
        ModelProto proto = OnnxModel.read(decoder).proto();
        GraphProto.Builder g = proto.getGraph().toBuilder();
        // logits = Identity(loop); loop = Identity(logits): a two-node cycle in place of the head's MatMul output
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            for (int o = 0; o < n.getOutputCount(); o++) {
                if (n.getOutput(o).equals("logits")) {
                    g.setNode(i, n.toBuilder().setOutput(o, "orphaned_logits").build());
                }
            }
        }
        g.addNode(NodeProto.newBuilder().setOpType("Identity").setName("a").addInput("loop").addOutput("logits"));
        g.addNode(NodeProto.newBuilder().setOpType("Identity").setName("b").addInput("logits").addOutput("loop"));
        Files.write(decoder, proto.toBuilder().setGraph(g).build().toByteArray());
        refused(m, "decoder.onnx", "cycle", "acyclic");
    }

    @Test
    void emptyOrMissingManifestFieldsAreNamed() throws Exception {
        Path m = model("files");
        editManifest(m, j -> j.putObject("files"));
        refused(m, ModelManifest.FILE_NAME, "files.vision is missing");
        editManifest(m, j -> j.remove("files"));
        refused(m, "fields files must be present");
        Path h = model("hidden");
        editManifest(h, j -> j.remove("hiddenSize"));
        refused(h, "field hiddenSize must be a positive integer");
        Path s = model("std");
        editManifest(s, j -> j.putArray("pixelStd").add(1).add(0).add(1));
        refused(s, "field pixelStd must not hold 0");
        Path t = model("type");
        editManifest(t, j -> j.put("layers", "two"));
        refused(t, ModelManifest.FILE_NAME, "layers");
        Path n = model("null");
        Files.writeString(n.resolve(ModelManifest.FILE_NAME), "null");
        refused(n, "not a valid model manifest");
    }

    @Test
    void aBadLayerPatternIsAFieldErrorNotAFormatException() throws Exception {
        Path m = model("pattern");
        editManifest(m, j -> ((ObjectNode) j.get("io")).put("pastKey", "past.%s.key"));
        refused(m, "field io: graph name pastKey must contain %d exactly once");
        editManifest(m, j -> ((ObjectNode) j.get("io")).put("pastKey", "past.%d.%d.key"));
        refused(m, "graph name pastKey");
    }

    @Test
    void filesMustStayInsideTheModelDirectory() throws Exception {
        Path m = model("escape");
        editManifest(m, j -> ((ObjectNode) j.get("files")).put("tokenizer", "../../etc/hostname"));
        refused(m, "field files.tokenizer must be a plain path inside the model directory");
        editManifest(m, j -> ((ObjectNode) j.get("files")).put("tokenizer", "/etc/hostname"));
        refused(m, "field files.tokenizer");
    }

    @Test
    void anInvalidTokenizerFileIsNamedWithoutARawJacksonError() throws Exception {
        Path m = model("tokenizer");
        Files.writeString(m.resolve("tokenizer.json"), "{\"tokens\": [\"<pad>\", ");
        refused(m, "tokenizer.json is not valid JSON");
        Files.writeString(m.resolve("tokenizer.json"), "[1, 2]");
        refused(m, "tokenizer.json: expected a JSON object");
        Files.writeString(m.resolve("tokenizer.json"), "{\"tokens\": [1, 2, 3, 4, 5, 6]}");
        refused(m, "tokenizer.json");
    }

    @Test
    void aManifestClaimingFewerLayersThanTheGraphsIsRefusedAtOpen() throws Exception {
        Path m = model("layers");
        int layers = JSON.readTree(m.resolve(ModelManifest.FILE_NAME).toFile()).get("layers").intValue();
        editManifest(m, j -> j.put("layers", layers - 1));
        refused(m, "decoder.onnx has " + layers + " past-key inputs", "tiny configuration says layers = " + (layers - 1));
    }

    @Property(tries = 200)
    void anyManifestTextIsReadOrRefusedWithAnIOException(@ForAll("manifestTexts") String text) throws Exception {
        Path m = Files.createTempDirectory("manifest-fuzz");
        try {
            Files.writeString(m.resolve(ModelManifest.FILE_NAME), text);
            try {
                ModelManifest.read(m);
            } catch (IOException expected) {
                // a clear refusal; anything else (NPE, ClassCast, format exceptions) fails the property
            }
        } finally {
            Files.deleteIfExists(m.resolve(ModelManifest.FILE_NAME));
            Files.deleteIfExists(m);
        }
    }

    @Provide
    Arbitrary<String> manifestTexts() {
        String valid = "{\"format\":\"mmupt-vlm/1\",\"hiddenSize\":8,\"vocabSize\":20,\"layers\":1,\"kvHeads\":1,"
                + "\"headDim\":8,\"imageSize\":8,\"imageTokens\":2,\"maxPositions\":64,\"pixelMean\":[0.5,0.5,0.5],"
                + "\"pixelStd\":[0.5,0.5,0.5],\"files\":{\"vision\":\"v.onnx\",\"embed\":\"e.onnx\",\"decoder\":\"d.onnx\","
                + "\"tokenizer\":\"t.json\"},\"io\":{\"pixelValues\":\"p\",\"imageFeatures\":\"f\",\"inputIds\":\"i\","
                + "\"inputsEmbeds\":\"e\",\"attentionMask\":\"a\",\"positionIds\":\"q\",\"pastKey\":\"pk.%d\","
                + "\"pastValue\":\"pv.%d\",\"presentKey\":\"k.%d\",\"presentValue\":\"v.%d\",\"logits\":\"l\"},"
                + "\"tokens\":{\"pad\":0,\"bos\":1,\"eos\":2,\"image\":3,\"answer\":4}}";
        Arbitrary<String> junk = Arbitraries.strings().withChars("{}[]\":,0123456789-.%d nulltrue").ofMaxLength(60);
        Arbitrary<String> mutated = Arbitraries.integers().between(0, valid.length() - 1).flatMap(at ->
                junk.map(j -> valid.substring(0, at) + j + valid.substring(Math.min(valid.length(), at + j.length()))));
        Arbitrary<String> truncated = Arbitraries.integers().between(0, valid.length()).map(n -> valid.substring(0, n));
        return Arbitraries.oneOf(mutated, truncated, junk);
    }
}
