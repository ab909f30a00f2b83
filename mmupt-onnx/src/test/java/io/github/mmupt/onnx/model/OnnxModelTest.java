package io.github.mmupt.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
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
}
