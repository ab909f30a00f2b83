package io.github.mmupt.onnx.model;

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
     * @param weightName   the initializer the head's weight comes from (the token embeddings for a tied head)
     * @param transposed   true when the head node reads a [V x d] weight (Gemm transB, MatMulNBits), false for
     *                     MatMul's [d x V]
     * @param headOutputs  the values produced by the head's nodes (the MatMul, Gemm or MatMulNBits, and Cast or
     *                     Identity after it); nodes are identified by their outputs, since exported names may be empty
     * @param hiddenSize   d
     * @param vocabSize    V
     * @param form         how the weight is stored ("a separate lm_head (float32)", "tied to embed_tokens.weight
     *                     through Transpose", "4-bit MatMulNBits (block 32)", ...)
     * @param weightChain  values of the nodes between the stored weight and the head node (Transpose, Cast,
     *                     DequantizeLinear)
     * @param plainFloat   the head node reads a float32 initializer of its own directly (the export replaces it in
     *                     place); otherwise the export writes a separate float32 MatMul head and says so
     * @param hiddenType   the hidden state's element type, "FLOAT" or "FLOAT16" (an fp16 export's)
     */
    public record HeadLocation(String logitsOutput, String hiddenName, String weightName, boolean transposed,
            List<String> headOutputs, int hiddenSize, int vocabSize, String form, List<String> weightChain,
            boolean plainFloat, String hiddenType) {
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
        } else if (node.getOpType().equals("Gemm") && HeadWeightSource.intAttribute(node, "transB", 0) == 1
                && HeadWeightSource.intAttribute(node, "transA", 0) == 0 && node.getInputCount() == 2) {
            transposed = true;
        } else if (node.getOpType().equals("MatMulNBits") && (node.getInputCount() < 6 || node.getInput(5).isEmpty())
                && (node.getInputCount() < 5 || node.getInput(4).isEmpty())) {
            transposed = true;
        } else {
            throw new IOException(model.source() + ": the logits come from a " + node.getOpType() + " node ("
                    + node.getName() + "); expected MatMul(hidden, weight [d x V]), Gemm(hidden, weight [V x d], "
                    + "transB=1) or MatMulNBits, without bias");
        }
        HeadWeightSource.Resolved w = HeadWeightSource.resolve(model, node, false);
        int v = w.vocabSize();
        int d = w.hiddenSize();
        return new HeadLocation(logitsOutput, node.getInput(0), w.leaf(), transposed, List.copyOf(headOutputs), d, v,
                w.description(), w.chainOutputs(), w.plainFloat(), TensorProto.DataType.forNumber(w.computeType()).name());
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
        GraphProto.Builder b = g.toBuilder().clearNode().clearOutput();
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
        removeUnused(b, loc.weightChain());
        addHiddenOutput(b, model, loc, hiddenOutput);
        FloatTensor vxd = HeadWeightSource.resolve(model, headNode(g, loc), true).vxd();
        HeadWeights head = HeadWeights.full(HeadShape.full(loc.vocabSize(), loc.hiddenSize()), vxd.valuesView());
        OnnxModel trunk = model.with(model.proto().toBuilder().setGraph(b).build());
        return new Detached(trunk, head, hiddenOutput, loc);
    }

    /** The MatMul, Gemm or MatMulNBits node of the head (the last of its outputs). */
    private static NodeProto headNode(GraphProto g, HeadLocation loc) {
        String out = loc.headOutputs().get(loc.headOutputs().size() - 1);
        return producer(g, out).orElseThrow();
    }

    /**
     * Drops the nodes of {@code chain} whose outputs nothing uses any more, and then every initializer no node
     * reads: a quantized or transposed head leaves no dead weight behind, while tied embeddings, which the
     * embedding lookup still reads, stay.
     */
    private static void removeUnused(GraphProto.Builder b, List<String> chain) {
        boolean changed = true;
        while (changed) {
            changed = false;
            java.util.Set<String> used = new java.util.HashSet<>();
            b.getNodeList().forEach(n -> used.addAll(n.getInputList()));
            b.getOutputList().forEach(o -> used.add(o.getName()));
            for (int i = b.getNodeCount() - 1; i >= 0; i--) {
                NodeProto n = b.getNode(i);
                if (n.getOutputList().stream().anyMatch(chain::contains)
                        && n.getOutputList().stream().noneMatch(used::contains)) {
                    b.removeNode(i);
                    changed = true;
                }
            }
        }
        java.util.Set<String> read = new java.util.HashSet<>();
        b.getNodeList().forEach(n -> read.addAll(n.getInputList()));
        b.getOutputList().forEach(o -> read.add(o.getName()));
        for (int i = b.getInitializerCount() - 1; i >= 0; i--) {
            if (!read.contains(b.getInitializer(i).getName())) {
                b.removeInitializer(i);
            }
        }
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
        FloatTensor vxd = FloatTensor.wrap(new long[] {shape.vocabSize(), shape.hiddenSize()}, merged(trained));
        GraphProto.Builder b = original.graph().toBuilder();
        if (loc.plainFloat()) {
            FloatTensor stored = loc.transposed() ? vxd : vxd.transpose();
            for (int i = 0; i < b.getInitializerCount(); i++) {
                if (b.getInitializer(i).getName().equals(loc.weightName())) {
                    b.setInitializer(i, OnnxModel.heldInitializer(loc.weightName(), stored.dims()));
                }
            }
            // held, not inlined: a head may exceed protobuf's 2 GB; write(file, data) streams it
            return original.withHeld(original.proto().toBuilder().setGraph(b).build(),
                    java.util.Map.of(loc.weightName(), stored.valuesView()));
        }
        // tied, half-precision or quantized: a separate float32 head, the embeddings untouched
        NodeProto head = headNode(original.graph(), loc);
        String weight = uniqueName(original, TRAINED_WEIGHT);
        boolean half = loc.hiddenType().equals("FLOAT16");
        // an fp16 graph's hidden state is widened for the float32 head and its logits narrowed back, so the
        // graph's outputs keep their types
        String in = half ? weight + ".hidden_float" : loc.hiddenName();
        String out = half ? weight + ".logits_float" : head.getOutput(0);
        NodeProto matmul = NodeProto.newBuilder().setOpType("MatMul").setName(weight + "_matmul")
                .addInput(in).addInput(weight).addOutput(out).build();
        for (int i = 0; i < b.getNodeCount(); i++) {
            if (b.getNode(i).getOutputList().contains(head.getOutput(0))) {
                b.setNode(i, matmul);
            }
        }
        if (half) {
            b.addNode(cast(loc.hiddenName(), in, TensorProto.DataType.FLOAT));
            b.addNode(cast(out, head.getOutput(0), TensorProto.DataType.FLOAT16));
        }
        removeUnused(b, loc.weightChain()); // and with them the quantized weight, its scales and zero points
        FloatTensor dxv = vxd.transpose();
        b.addInitializer(OnnxModel.heldInitializer(weight, dxv.dims()));
        LOG.info("{}: the model's head is {}; the export writes the trained head as a separate float32 MatMul "
                + "weight {} [d={} x V={}] (the token embeddings are unchanged)", original.source(), loc.form(), weight,
                loc.hiddenSize(), loc.vocabSize());
        return original.withHeld(original.proto().toBuilder().setGraph(b).build(), java.util.Map.of(weight, dxv.valuesView()));
    }

    private static NodeProto cast(String from, String to, TensorProto.DataType type) {
        return NodeProto.newBuilder().setOpType("Cast").setName(to + "_cast").addInput(from).addOutput(to)
                .addAttribute(ai.onnx.proto.OnnxMl.AttributeProto.newBuilder().setName("to")
                        .setType(ai.onnx.proto.OnnxMl.AttributeProto.AttributeType.INT).setI(type.getNumber()))
                .build();
    }

    /** The name the export gives a trained head that was not a float32 initializer of its own. */
    public static final String TRAINED_WEIGHT = "mmupt.lm_head.weight";

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HeadSurgery.class);

    private static String uniqueName(OnnxModel model, String base) {
        String name = base;
        for (int k = 1; model.initializerNames().contains(name); k++) {
            name = base + "." + k;
        }
        return name;
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
        b.addOutput(GraphBuilder.valueInfo(hiddenOutput, TensorProto.DataType.valueOf(loc.hiddenType()), dims.toArray()));
    }

    private static Optional<NodeProto> producer(GraphProto g, String value) {
        return g.getNodeList().stream().filter(n -> n.getOutputList().contains(value)).findFirst();
    }
}
