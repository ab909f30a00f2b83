package io.github.mmupt.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelTest {

    private static ModelProto matmul() {
        GraphBuilder g = new GraphBuilder("mm");
        String x = g.input("x", TensorProto.DataType.FLOAT, "batch", 2L);
        String y = g.node("MatMul", x, g.initializer("w", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
        g.output(g.identity(y, "y"), TensorProto.DataType.FLOAT, "batch", 3L);
        return g.build();
    }

    @Test
    void writesReadsAndInspects(@TempDir Path dir) throws Exception {
        OnnxModel model = OnnxModel.of(matmul(), "mm");
        model.write(dir.resolve("mm.onnx"));
        OnnxModel back = OnnxModel.read(dir.resolve("mm.onnx"));
        assertThat(back.sha256()).isEqualTo(model.sha256());
        assertThat(back.inputs()).hasSize(1);
        assertThat(back.inputs().get(0).shapeText()).isEqualTo("[batch, 2]");
        assertThat(back.outputs().get(0).elementType()).isEqualTo("FLOAT");
        assertThat(back.initializer("w").dims()).containsExactly(2, 3);
        assertThat(back.initializer("w").values()).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(back.initializer("w").transpose().values()).containsExactly(1, 4, 2, 5, 3, 6);
        assertThat(back.opsetVersion()).isEqualTo(17);
        assertThatThrownBy(() -> back.initializer("nope")).hasMessageContaining("no initializer named nope");
    }

    @Test
    void refusesExternalDataAndEmptyGraphs() {
        ModelProto external = matmul().toBuilder().setGraph(matmul().getGraph().toBuilder().setInitializer(0,
                matmul().getGraph().getInitializer(0).toBuilder().setDataLocation(TensorProto.DataLocation.EXTERNAL))).build();
        assertThatThrownBy(() -> OnnxModel.of(external, "big.onnx")).hasMessageContaining("big.onnx")
                .hasMessageContaining("initializer w keeps its data in an external file");
        assertThatThrownBy(() -> OnnxModel.of(ModelProto.getDefaultInstance(), "empty.onnx"))
                .hasMessageContaining("no graph nodes");
    }

    /** A 1 KB initializer, large enough to go to the data file. */
    private static ModelProto wide() {
        GraphBuilder g = new GraphBuilder("wide");
        String x = g.input("x", TensorProto.DataType.FLOAT, "batch", 16L);
        float[] w = new float[16 * 16];
        for (int i = 0; i < w.length; i++) {
            w[i] = i * 0.5f;
        }
        g.output(g.identity(g.node("MatMul", x, g.initializer("w", new long[] {16, 16}, w)), "y"),
                TensorProto.DataType.FLOAT, "batch", 16L);
        return g.build();
    }

    @Test
    void externalDataIsWrittenBesideTheModelAndReadBack(@TempDir Path dir) throws Exception {
        OnnxModel model = OnnxModel.of(wide(), "wide");
        model.write(dir.resolve("wide.onnx"), "wide.onnx_data");
        assertThat(Files.size(dir.resolve("wide.onnx_data"))).isEqualTo(4 * 256);
        assertThat(Files.size(dir.resolve("wide.onnx"))).isLessThan(1024);
        OnnxModel back = OnnxModel.read(dir.resolve("wide.onnx"));
        assertThat(back.sha256()).isEqualTo(model.sha256());
    }

    @Test
    void externalDataStaysInItsFileUntilAskedForAndIsStreamedOnWrite(@TempDir Path dir) throws Exception {
        OnnxModel.of(wide(), "wide").write(dir.resolve("wide.onnx"), "wide.onnx_data");
        OnnxModel back = OnnxModel.read(dir.resolve("wide.onnx"));
        assertThat(back.graph().getInitializer(0).getDataLocation()).as("not inlined on read")
                .isEqualTo(TensorProto.DataLocation.EXTERNAL);
        assertThat(back.toBytes().length).as("the session bytes are the graph only").isLessThan(1024);
        assertThat(back.externalDataFolder()).contains(dir.toAbsolutePath());
        assertThat(back.externalDataFiles()).containsExactly("wide.onnx_data");
        assertThat(back.initializer("w").values()).containsExactly(OnnxModel.of(wide(), "wide").initializer("w").values());
        // written elsewhere, from the data file it was read from, under another name
        Path other = Files.createDirectories(dir.resolve("copy"));
        back.write(other.resolve("copy.onnx"), "copy.bin");
        OnnxModel copy = OnnxModel.read(other.resolve("copy.onnx"));
        assertThat(copy.externalDataFiles()).containsExactly("copy.bin");
        assertThat(copy.sha256()).isEqualTo(back.sha256());
        // and as one file, inlined
        back.write(other.resolve("single.onnx"));
        assertThat(OnnxModel.read(other.resolve("single.onnx")).externalDataFiles()).isEmpty();
        assertThat(OnnxModel.read(other.resolve("single.onnx")).sha256()).isEqualTo(back.sha256());
    }

    @Test
    void theDigestCoversTheWeights(@TempDir Path dir) throws Exception {
        OnnxModel.of(wide(), "wide").write(dir.resolve("wide.onnx"), "wide.onnx_data");
        String before = OnnxModel.read(dir.resolve("wide.onnx")).sha256();
        byte[] data = Files.readAllBytes(dir.resolve("wide.onnx_data"));
        data[17] ^= 1;
        Files.write(dir.resolve("wide.onnx_data"), data);
        assertThat(OnnxModel.read(dir.resolve("wide.onnx")).sha256()).as("one bit of one weight").isNotEqualTo(before);
    }

    @Test
    void hostileExternalDataIsRefusedNamingTheInitializer(@TempDir Path dir) throws Exception {
        OnnxModel.of(wide(), "wide").write(dir.resolve("wide.onnx"), "wide.onnx_data");
        ModelProto written = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("wide.onnx")));
        for (String[] bad : new String[][] {{"location", "../wide.onnx_data", "must be a plain file name"},
            {"location", "/etc/hostname", "must be a plain file name"}, {"location", "gone.onnx_data", "is missing"},
            {"offset", "1000", "lies outside wide.onnx_data"}, {"length", "99999", "lies outside"},
            {"offset", "ten", "not a number"},
            {"length", "1000", "is FLOAT [16, 16], 1024 bytes, but its external data in wide.onnx_data is 1000 bytes"}}) {
            TensorProto.Builder t = written.getGraph().getInitializer(0).toBuilder();
            for (int i = 0; i < t.getExternalDataCount(); i++) {
                if (t.getExternalData(i).getKey().equals(bad[0])) {
                    t.setExternalData(i, t.getExternalData(i).toBuilder().setValue(bad[1]));
                }
            }
            Path file = dir.resolve("hostile.onnx");
            Files.write(file, written.toBuilder().setGraph(written.getGraph().toBuilder().setInitializer(0, t))
                    .build().toByteArray());
            assertThatThrownBy(() -> OnnxModel.read(file)).as(bad[0] + "=" + bad[1]).isInstanceOf(IOException.class)
                    .hasMessageContaining("initializer w").hasMessageContaining(bad[2]);
        }
    }
}
