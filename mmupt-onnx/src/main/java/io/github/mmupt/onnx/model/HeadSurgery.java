package io.github.mmupt.onnx.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Rewrites a decoder graph so that its LM head can be trained outside it, and back.
 *
 * <ul>
 *   <li>{@link #locate}: finds the head: the node producing the logits output (stepping over Cast and Identity)
 *       must be a
 *       MatMul of the final hidden state by a weight initializer [d x V] (a PyTorch export of
 *       {@code Linear(d, V, bias=False)}), or a Gemm with {@code transB = 1} and a [V x d] weight.</li>
 *   <li>{@link #detach}: removes the head: the hidden state becomes a graph output, the logits output and the
 *       weight initializer go, and the weight is returned as a [V x d] {@link HeadWeights} the library owns.</li>
 *   <li>{@link #attach}: the reverse for deployment: the original graph with its head weight replaced by a
 *       trained head (a LoRA merged as W0 + (alpha / r) B A), runnable in any ONNX Runtime.</li>
 * </ul>
 *
 * <pre>{@code
 * HeadSurgery.Detached d = HeadSurgery.detach(decoder, "logits", "hidden_states");
 * // ... train d.head() ...
 * HeadSurgery.attach(decoder, "logits", trained).write(out.resolve("decoder.onnx"));
 * }</pre>
 */
public final class HeadSurgery {

    private HeadSurgery() {
    }

    /**
     * Where the head is in a graph.
     *
     * @param logitsOutput the graph output holding the logits
     * @param hiddenName   the value feeding the head (the final hidden state)
     * @param weightName   the head's weight initializer
     * @param transposed   true when the stored weight is [V x d] (Gemm transB), false for MatMul's [d x V]
     * @param headOutputs  the values produced by the head's nodes (the MatMul or Gemm, and Cast or Identity after it);
     *     nodes
 *                     are identified by their outputs, since exported node names may be empty
     * @param hiddenSize   d
     * @param vocabSize    V
     */
    public record HeadLocation(String logitsOutput, String hiddenName, String weightName, boolean transposed,
            List<String> headOutputs, int hiddenSize, int vocabSize) {
    }

    /** Trunk without head, and the head. */
    public record Detached(OnnxModel trunk, HeadWeights head, String hiddenOutput, HeadLocation location) {
    }

    /**
     * Finds the LM head: the MatMul (or Gemm with transB) producing {@code logitsOutput}, behind any Cast or Identity.
     *
     * @param model the decoder
     * @param logitsOutput the name of its logits output
     * @return where the head is
     * @throws IOException when there is no such output, the graph has a cycle, or the head is not of a known form
     */
    public static HeadLocation locate(OnnxModel model, String logitsOutput) throws IOException {
        GraphProto g = model.graph();
        if (model.output(logitsOutput).isEmpty()) {
            throw new IOException(model.source() + " has no output named " + logitsOutput + " (outputs: "
                    + model.outputs().stream().map(TensorInfo::name).toList() + ")");
        }
        List<String> headOutputs = new ArrayList<>();
        NodeProto node = producer(g, logitsOutput).orElseThrow(() -> new IOException(model.source()
                + ": no node produces " + logitsOutput));
        java.util.Set<String> seen = new java.util.HashSet<>();
        while (node.getOpType().equals("Cast") || node.getOpType().equals("Identity")) {
            if (!seen.add(node.getOutput(0))) {
                // a graph with a cycle is invalid ONNX; walking it would never end
                throw new IOException(model.source() + ": the graph has a cycle through " + node.getOutput(0)
                        + " on the way back from " + logitsOutput + "; an ONNX graph must be acyclic");
            }
            if (node.getInputCount() == 0) {
                throw new IOException(model.source() + ": node " + node.getName() + " (" + node.getOpType()
                        + ") producing " + node.getOutput(0) + " has no input");
            }
            headOutputs.add(node.getOutput(0));
            String input = node.getInput(0);
            node = producer(g, input).orElseThrow(() -> new IOException(model.source() + ": no node produces " + input));
        }
        headOutputs.add(node.getOutput(0));
        boolean transposed;
        if (node.getOpType().equals("MatMul")) {
            transposed = false;
        } else if (node.getOpType().equals("Gemm") && intAttribute(node, "transB", 0) == 1
                && intAttribute(node, "transA", 0) == 0 && node.getInputCount() == 2) {
            transposed = true;
        } else {
            throw new IOException(model.source() + ": the logits come from a " + node.getOpType() + " node ("
                    + node.getName() + "); expected MatMul(hidden, weight [d x V]) or Gemm(hidden, weight [V x d], "
                    + "transB=1) without bias");
        }
        String hidden = node.getInput(0);
        String weight = node.getInput(1);
        if (!model.initializerNames().contains(weight)) {
            throw new IOException(model.source() + ": the head weight " + weight + " is not an initializer (a tied "
                    + "or computed head cannot be detached)");
        }
        FloatTensor w = model.initializer(weight);
        long[] dims = w.dims();
        if (dims.length != 2) {
            throw new IOException(model.source() + ": head weight " + weight + " has rank " + dims.length + ", expected 2");
        }
        int d = (int) (transposed ? dims[1] : dims[0]);
        int v = (int) (transposed ? dims[0] : dims[1]);
        return new HeadLocation(logitsOutput, hidden, weight, transposed, List.copyOf(headOutputs), d, v);
    }

    /**
     * The graph with the hidden state added as an output (the head kept), e.g. to compare both.
     *
     * @param model the decoder
     * @param logitsOutput the name of its logits output
     * @param hiddenOutput the name to give the hidden state
     * @return the graph with both outputs
     * @throws IOException when the head cannot be found
     */
    public static OnnxModel exposeHidden(OnnxModel model, String logitsOutput, String hiddenOutput) throws IOException {
        HeadLocation loc = locate(model, logitsOutput);
        GraphProto.Builder g = model.graph().toBuilder();
        addHiddenOutput(g, model, loc, hiddenOutput);
        return model.with(model.proto().toBuilder().setGraph(g).build());
    }

    /**
     * Removes the head; see the class doc.
     *
     * @param model the decoder
     * @param logitsOutput the name of its logits output
     * @param hiddenOutput the name to give the hidden state
     * @return the trunk and the head
     * @throws IOException when the head cannot be found
     */
    public static Detached detach(OnnxModel model, String logitsOutput, String hiddenOutput) throws IOException {
        HeadLocation loc = locate(model, logitsOutput);
        GraphProto g = model.graph();
        GraphProto.Builder b = g.toBuilder().clearNode().clearOutput().clearInitializer();
        for (NodeProto n : g.getNodeList()) {
            if (n.getOutputList().stream().noneMatch(loc.headOutputs()::contains)) {
                b.addNode(n);
            }
        }
        for (ValueInfoProto o : g.getOutputList()) {
            if (!o.getName().equals(logitsOutput)) {
                b.addOutput(o);
            }
        }
        boolean weightStillUsed = b.getNodeList().stream().anyMatch(n -> n.getInputList().contains(loc.weightName()));
        for (TensorProto t : g.getInitializerList()) {
            if (!t.getName().equals(loc.weightName()) || weightStillUsed) {
                b.addInitializer(t);
            }
        }
        addHiddenOutput(b, model, loc, hiddenOutput);
        FloatTensor w = model.initializer(loc.weightName());
        FloatTensor vxd = loc.transposed() ? w : w.transpose();
        HeadWeights head = HeadWeights.full(HeadShape.full(loc.vocabSize(), loc.hiddenSize()), vxd.values());
        OnnxModel trunk = model.with(model.proto().toBuilder().setGraph(b).build());
        return new Detached(trunk, head, hiddenOutput, loc);
    }

    /**
     * The original graph (with its head) with the head weight replaced by {@code trained}; a LoRA head is
     * merged first.
     *
     * @param original the decoder with its original head
     * @param logitsOutput the name of its logits output
     * @param trained the head to put in
     * @return the decoder with the trained head
     * @throws IOException when the head cannot be found or its shape differs
     */
    public static OnnxModel attach(OnnxModel original, String logitsOutput, HeadWeights trained) throws IOException {
        HeadLocation loc = locate(original, logitsOutput);
        HeadShape shape = trained.shape();
        if (shape.hiddenSize() != loc.hiddenSize() || shape.vocabSize() != loc.vocabSize()) {
            throw new IOException("a head of V=" + shape.vocabSize() + ", d=" + shape.hiddenSize() + " does not fit "
                    + original.source() + ", whose head is V=" + loc.vocabSize() + ", d=" + loc.hiddenSize());
        }
        FloatTensor vxd = FloatTensor.of(new long[] {shape.vocabSize(), shape.hiddenSize()}, merged(trained));
        FloatTensor stored = loc.transposed() ? vxd : vxd.transpose();
        GraphProto.Builder b = original.graph().toBuilder();
        for (int i = 0; i < b.getInitializerCount(); i++) {
            if (b.getInitializer(i).getName().equals(loc.weightName())) {
                b.setInitializer(i, OnnxModel.floatInitializer(loc.weightName(), stored.dims(), stored.values()));
            }
        }
        return original.with(original.proto().toBuilder().setGraph(b).build());
    }

    /**
     * W, or W0 + (alpha / r) B A, as [V x d] row-major.
     *
     * @param w the head
     * @return the weight the model uses
     */
    public static float[] merged(HeadWeights w) {
        HeadShape s = w.shape();
        float[] base = w.weight();
        if (!s.isLora()) {
            return base;
        }
        float[] a = w.loraA();
        float[] bm = w.loraB();
        int v = s.vocabSize();
        int d = s.hiddenSize();
        int r = s.loraRank();
        double scale = s.loraScale();
        for (int row = 0; row < v; row++) {
            for (int j = 0; j < d; j++) {
                double acc = 0;
                for (int k = 0; k < r; k++) {
                    acc += (double) bm[row * r + k] * a[k * d + j];
                }
                base[row * d + j] = (float) (base[row * d + j] + scale * acc);
            }
        }
        return base;
    }

    private static void addHiddenOutput(GraphProto.Builder b, OnnxModel model, HeadLocation loc, String hiddenOutput)
            throws IOException {
        if (model.output(hiddenOutput).isPresent() || model.input(hiddenOutput).isPresent()) {
            throw new IOException(model.source() + " already has a value named " + hiddenOutput);
        }
        b.addNode(NodeProto.newBuilder().setOpType("Identity").setName(hiddenOutput + "_exposed")
                .addInput(loc.hiddenName()).addOutput(hiddenOutput));
        TensorInfo logits = model.output(loc.logitsOutput()).orElseThrow();
        List<Object> dims = new ArrayList<>();
        for (int i = 0; i < logits.dims().size(); i++) {
            boolean last = i == logits.dims().size() - 1;
            dims.add(last ? (Object) (long) loc.hiddenSize()
                    : logits.dims().get(i) >= 0 ? (Object) logits.dims().get(i)
                    : logits.dimNames().get(i).isEmpty() ? "dim" + i : logits.dimNames().get(i));
        }
        b.addOutput(GraphBuilder.valueInfo(hiddenOutput, TensorProto.DataType.FLOAT, dims.toArray()));
    }

    private static Optional<NodeProto> producer(GraphProto g, String value) {
        return g.getNodeList().stream().filter(n -> n.getOutputList().contains(value)).findFirst();
    }

    private static long intAttribute(NodeProto n, String name, long fallback) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }
}
