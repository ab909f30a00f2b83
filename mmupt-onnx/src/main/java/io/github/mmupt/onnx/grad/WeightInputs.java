package io.github.mmupt.onnx.grad;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.github.mmupt.onnx.model.OnnxModel;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns chosen initializers into graph inputs of the same name, type and shape, so that a session can be fed
 * new values for them at every run (trained weights without re-exporting the graph).
 */
final class WeightInputs {

    private WeightInputs() {
    }

    static OnnxModel promote(OnnxModel model, List<String> names) throws IOException {
        Set<String> wanted = new HashSet<>(names);
        GraphProto.Builder g = model.graph().toBuilder().clearInitializer();
        Set<String> found = new HashSet<>();
        for (TensorProto t : model.graph().getInitializerList()) {
            if (!wanted.contains(t.getName())) {
                g.addInitializer(t);
                continue;
            }
            found.add(t.getName());
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            t.getDimsList().forEach(d -> shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d)));
            g.addInput(ValueInfoProto.newBuilder().setName(t.getName()).setType(TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(t.getDataType()).setShape(shape))));
        }
        wanted.removeAll(found);
        if (!wanted.isEmpty()) {
            throw new IllegalArgumentException("no initializers named " + wanted + " in " + model.source());
        }
        return model.with(model.proto().toBuilder().setGraph(g).build());
    }
}
