package io.github.mmupt.onnx.lora;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.github.mmupt.onnx.model.GraphBuilder;
import io.github.mmupt.onnx.model.OnnxModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A decoder rewritten once, at open, so that each targeted projection {@code MatMul(X, W)} computes
 * {@code X W + (alpha / r) (X A^T) B^T} with A and B as graph inputs: updated adapters are fed at the next run
 * without re-exporting, and zero adapters (B = 0) give the base model's outputs bit for bit, which is also the
 * reference policy of the KL term. Targets are found by the weight's name ({@code ...layers.N.<proj>[_proj][.weight]})
 * on MatMuls whose second input is a 2-D float initializer; the rest of the graph is untouched.
 *
 * <pre>{@code
 * LoraGraph lora = LoraGraph.rewrite(trunk, LoraSettings.builder().rank(1).alpha(32).build());
 * for (LoraTarget t : lora.targets()) { feeds.put(t.aInput(), a); feeds.put(t.bInput(), zeros); }
 * }</pre>
 *
 * @param model the rewritten graph
 * @param settings what was adapted
 * @param targets the adapted projections, in graph order
 */
public record LoraGraph(OnnxModel model, LoraSettings settings, List<LoraTarget> targets) {

    /** {@code ...layers.N.<module path>}, from a weight's name or (dots or slashes) a node's. */
    private static final Pattern LAYER = Pattern.compile("(?:^|.*[./])layers[./](\\d+)[./].*");

    /**
     * Copies the targets.
     *
     * @param model the rewritten graph
     * @param settings what was adapted
     * @param targets the adapted projections
     */
    public LoraGraph {
        targets = List.copyOf(targets);
    }

    /**
     * Rewrites {@code decoder} with adapters on the projections {@code settings} names.
     *
     * @param decoder the decoder (or its trunk, head detached)
     * @param settings rank, alpha, projections and layers
     * @return the rewritten graph and its targets
     * @throws IOException when the rewritten model cannot be re-read
     * @throws IllegalArgumentException when no projection matches, naming what the graph has
     */
    public static LoraGraph rewrite(OnnxModel decoder, LoraSettings settings) throws IOException {
        GraphProto graph = decoder.graph();
        Map<String, TensorProto> weights = new HashMap<>();
        graph.getInitializerList().forEach(t -> weights.put(t.getName(), t));
        GraphBuilder g = GraphBuilder.extending(graph.toBuilder().clearNode().build(), "lora/");
        String scale = g.typedScalar(settings.scale(), TensorProto.DataType.FLOAT_VALUE);
        List<LoraTarget> targets = new ArrayList<>();
        TreeSet<String> available = new TreeSet<>();
        List<ValueInfoProto> inputs = new ArrayList<>();
        java.util.Set<String> modules = new java.util.HashSet<>();
        for (NodeProto node : graph.getNodeList()) {
            LoraTarget target = node.getOpType().equals("MatMul") ? target(node, weights, settings, available) : null;
            if (target == null) {
                g.appendNode(node);
                continue;
            }
            if (!modules.add(target.module())) {
                // one adapter per module: a weight shared by two MatMuls (tied) would need one input fed twice
                throw new IllegalArgumentException("cannot adapt " + target.weight() + " in " + decoder.source()
                        + ": it feeds more than one MatMul (node '" + node.getName() + "' is the second); expected one "
                        + "MatMul per adapted projection");
            }
            String base = "lora/" + target.module() + ".base";
            g.appendNode(node.toBuilder().setOutput(0, base).build());
            String x = node.getInput(0);
            String xa = g.node("MatMul", x, g.node("Transpose", List.of(target.aInput()), Map.of("perm", new long[] {1, 0})));
            String delta = g.node("MatMul", xa, g.node("Transpose", List.of(target.bInput()), Map.of("perm", new long[] {1, 0})));
            g.nodeInto("Add", List.of(base, g.node("Mul", delta, scale)), node.getOutput(0));
            inputs.add(input(target.aInput(), settings.rank(), target.inFeatures()));
            inputs.add(input(target.bInput(), target.outFeatures(), settings.rank()));
            targets.add(target);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("no projection of " + decoder.source() + " matches LoRA targets "
                    + settings.projections() + " in layers " + settings.firstLayer() + ".." + settings.lastLayer()
                    + "; the graph's MatMul weights by layer projection: " + (available.isEmpty() ? "none" : available));
        }
        GraphProto result = g.graph().toBuilder().addAllInput(inputs).build();
        return new LoraGraph(decoder.with(decoder.proto().toBuilder().setGraph(result).build()), settings, targets);
    }

    private static LoraTarget target(NodeProto node, Map<String, TensorProto> weights, LoraSettings settings,
            TreeSet<String> available) {
        TensorProto w = weights.get(node.getInput(1));
        if (w == null || w.getDimsCount() != 2 || w.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            return null;
        }
        // PyTorch exports often name a transposed weight onnx::MatMul_123; the node keeps the module path then
        String path = w.getName().endsWith(".weight") ? w.getName().substring(0, w.getName().length() - 7) : w.getName();
        if (!LAYER.matcher(path).matches()) {
            path = node.getName().replace('/', '.').replaceAll("^\\.+", "").replaceAll("\\.MatMul(_\\d+)?$", "");
        }
        Matcher m = LAYER.matcher(path);
        if (!m.matches()) {
            return null;
        }
        int layer = Integer.parseInt(m.group(1));
        String last = path.substring(path.lastIndexOf('.') + 1);
        String projection = last.endsWith("_proj") ? last.substring(0, last.length() - 5) : last;
        if (!projection.matches("[a-z]+")) {
            return null;
        }
        String module = path;
        available.add(projection);
        if (!settings.projections().contains(projection) || layer < settings.firstLayer() || layer > settings.lastLayer()) {
            return null;
        }
        return new LoraTarget(module, layer, projection, w.getName(), (int) w.getDims(0), (int) w.getDims(1),
                module + ".lora_A.weight", module + ".lora_B.weight");
    }

    private static ValueInfoProto input(String name, long rows, long cols) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(rows))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(cols));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
                .build();
    }
}
