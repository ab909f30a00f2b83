package io.github.mmupt.onnx.grad;

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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A reverse-mode gradient graph derived from a forward ONNX graph: the forward nodes (recomputed, so nothing
 * needs saving between two sessions), then for every value on a path from a chosen input to a chosen output,
 * the standard ONNX nodes of its gradient. Given the gradient of a loss with respect to each chosen output (a
 * graph input named {@code "grad." + output}), it outputs the loss's gradient with respect to each chosen input
 * or initializer ({@code "grad." + name}) beside the forward outputs. Only what those inputs need is
 * differentiated: frozen weights get no gradient nodes. A node on such a path whose op has no rule is refused
 * when the graph is built, naming the op and the node.
 *
 * <pre>{@code
 * // d loss / d inputs_embeds, given d loss / d hidden_states from the head kernel
 * GradientGraph grad = GradientGraph.build(trunk, List.of("hidden_states"), List.of("inputs_embeds"));
 * session = env.createSession(grad.model().toBytes(), options);   // feeds: the trunk's inputs + "grad.hidden_states"
 * }</pre>
 *
 * @param model the gradient graph
 * @param seedInputs for each differentiated output, the input that takes the loss's gradient with respect to it
 * @param gradientOutputs for each differentiated input or initializer, the output giving its gradient
 */
public record GradientGraph(OnnxModel model, Map<String, String> seedInputs, Map<String, String> gradientOutputs) {

    /** The prefix of every value the gradient nodes add. */
    public static final String PREFIX = "grad/";

    /** The lowest opset whose forms the rules emit (Softmax over one axis, ReduceSum's axes as an input). */
    public static final long MIN_OPSET = 13;

    /**
     * Copies the maps.
     *
     * @param model the gradient graph
     * @param seedInputs the seed input per differentiated output
     * @param gradientOutputs the gradient output per differentiated input
     */
    public GradientGraph {
        seedInputs = Map.copyOf(seedInputs);
        gradientOutputs = Map.copyOf(gradientOutputs);
    }

    /**
     * Builds the gradient graph.
     *
     * @param forward the forward graph
     * @param outputs the forward outputs the loss depends on
     * @param wrt the graph inputs or initializers to differentiate with respect to
     * @return the gradient graph
     * @throws IOException when the result cannot be re-read as a model
     * @throws IllegalArgumentException when a name is unknown, the opset is too old or an op has no rule
     */
    public static GradientGraph build(OnnxModel forward, List<String> outputs, List<String> wrt) throws IOException {
        long opset = forward.opsetVersion();
        if (opset < MIN_OPSET) {
            throw new IllegalArgumentException("cannot differentiate " + forward.source() + ": its opset is " + opset
                    + ", the gradient builder needs " + MIN_OPSET + " or later");
        }
        GraphProto graph = forward.graph();
        Map<String, ValueInfoProto> declaredOutputs = new LinkedHashMap<>();
        graph.getOutputList().forEach(o -> declaredOutputs.put(o.getName(), o));
        for (String o : outputs) {
            if (!declaredOutputs.containsKey(o)) {
                throw new IllegalArgumentException("cannot differentiate output '" + o + "': " + forward.source()
                        + " has outputs " + declaredOutputs.keySet());
            }
        }
        Map<String, ValueInfoProto> sources = new LinkedHashMap<>();
        graph.getInputList().forEach(i -> sources.put(i.getName(), i));
        for (TensorProto t : graph.getInitializerList()) {
            sources.putIfAbsent(t.getName(), valueInfo(t));
        }
        for (String w : wrt) {
            if (!sources.containsKey(w)) {
                throw new IllegalArgumentException("cannot differentiate with respect to '" + w + "': it is neither an "
                        + "input nor an initializer of " + forward.source());
            }
        }
        ValueFacts facts = ValueFacts.infer(graph);
        List<NodeProto> nodes = graph.getNodeList();

        Set<String> requires = new HashSet<>(wrt);
        for (NodeProto node : nodes) {
            if (GradientRules.NON_DIFFERENTIABLE.contains(node.getOpType())
                    || node.getInputList().stream().noneMatch(requires::contains)) {
                continue;
            }
            for (String out : node.getOutputList()) {
                int type = facts.type(out);
                if (type == TensorProto.DataType.UNDEFINED_VALUE || ValueFacts.isFloating(type)) {
                    requires.add(out);
                }
            }
        }
        Set<String> reaches = new HashSet<>(outputs);
        for (int i = nodes.size() - 1; i >= 0; i--) {
            NodeProto node = nodes.get(i);
            if (node.getOutputList().stream().anyMatch(reaches::contains)) {
                reaches.addAll(node.getInputList());
            }
        }
        List<NodeProto> active = new ArrayList<>();
        Set<String> unsupported = new TreeSet<>();
        for (NodeProto node : nodes) {
            boolean onPath = node.getOutputList().stream().anyMatch(o -> requires.contains(o) && reaches.contains(o));
            if (onPath) {
                active.add(node);
                if (!GradientRules.SUPPORTED.contains(node.getOpType())) {
                    unsupported.add(node.getOpType() + " (node '" + node.getName() + "')");
                }
            }
        }
        if (!unsupported.isEmpty()) {
            throw new IllegalArgumentException("cannot differentiate " + forward.source() + ": no gradient rule for "
                    + String.join(", ", unsupported) + "; supported ops: " + new TreeSet<>(GradientRules.SUPPORTED));
        }

        GraphBuilder g = GraphBuilder.extending(graph, PREFIX);
        GradientRules rules = new GradientRules(g, facts, opset, graph);
        Map<String, List<String>> contributions = new HashMap<>();
        Map<String, String> seeds = new LinkedHashMap<>();
        List<ValueInfoProto> newInputs = new ArrayList<>();
        for (String o : outputs) {
            String seed = "grad." + o;
            seeds.put(o, seed);
            newInputs.add(declaredOutputs.get(o).toBuilder().setName(seed).build());
            contributions.computeIfAbsent(o, k -> new ArrayList<>()).add(seed);
        }
        Map<String, List<NodeProto>> consumers = new HashMap<>();
        for (NodeProto node : nodes) {
            for (String in : node.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
            }
        }
        Map<String, String> gradientOf = new HashMap<>();
        for (int i = active.size() - 1; i >= 0; i--) {
            NodeProto node = active.get(i);
            String[] outGrads = new String[node.getOutputCount()];
            boolean any = false;
            for (int k = 0; k < outGrads.length; k++) {
                outGrads[k] = total(g, contributions.get(node.getOutput(k)));
                any |= outGrads[k] != null;
                if (outGrads[k] != null) {
                    gradientOf.put(node.getOutput(k), outGrads[k]);
                }
            }
            if (!any) {
                continue;
            }
            boolean[] needed = new boolean[node.getInputCount()];
            for (int k = 0; k < needed.length; k++) {
                needed[k] = !node.getInput(k).isEmpty() && requires.contains(node.getInput(k));
            }
            String[] d = attentionSoftmax(node, consumers, declaredOutputs.keySet(), gradientOf, facts)
                    .map(mm -> new String[] {rules.softmaxBeforeMatMul(node, outGrads[0], mm, gradientOf.get(mm.getOutput(0)))})
                    .orElseGet(() -> rules.apply(node, outGrads, needed));
            for (int k = 0; k < d.length; k++) {
                if (needed[k] && d[k] != null) {
                    contributions.computeIfAbsent(node.getInput(k), x -> new ArrayList<>()).add(d[k]);
                }
            }
        }

        Map<String, String> gradients = new LinkedHashMap<>();
        List<ValueInfoProto> newOutputs = new ArrayList<>();
        for (String w : wrt) {
            String total = total(g, contributions.get(w));
            String name = "grad." + w;
            g.identity(total != null ? total : rules.zerosOf(w), name);
            gradients.put(w, name);
            newOutputs.add(sources.get(w).toBuilder().setName(name).build());
        }
        GraphProto.Builder result = g.graph().toBuilder().setName(graph.getName() + "_gradient").clearOutput();
        for (String o : outputs) {
            result.addOutput(declaredOutputs.get(o));
        }
        result.addAllOutput(newOutputs).addAllInput(newInputs);
        // with(): external data keeps resolving against the forward model's folder
        OnnxModel model = forward.with(forward.proto().toBuilder().setGraph(result).build());
        return new GradientGraph(model, seeds, gradients);
    }

    /**
     * The MatMul an attention Softmax feeds, when the softmax's rows can take their gradient's dot product from
     * that product instead ({@link GradientRules#softmaxBeforeMatMul}): the softmax over the last axis, its output
     * used by that one MatMul alone as the left operand (so its gradient is exactly the MatMul's), with the same
     * batch dimensions (so none was summed over a broadcast), and the MatMul's output gradient known.
     */
    private static java.util.Optional<NodeProto> attentionSoftmax(NodeProto node, Map<String, List<NodeProto>> consumers,
            Set<String> graphOutputs, Map<String, String> gradientOf, ValueFacts facts) {
        if (!node.getOpType().equals("Softmax")) {
            return java.util.Optional.empty();
        }
        String y = node.getOutput(0);
        int rank = facts.rank(y);
        long axis = ValueFacts.intAttribute(node, "axis", -1);
        List<NodeProto> users = consumers.getOrDefault(y, List.of());
        if (rank < 2 || (axis != -1 && axis != rank - 1) || users.size() != 1 || graphOutputs.contains(y)) {
            return java.util.Optional.empty();
        }
        NodeProto mm = users.get(0);
        if (!mm.getOpType().equals("MatMul") || !mm.getInput(0).equals(y) || mm.getInput(1).equals(y)
                || !gradientOf.containsKey(mm.getOutput(0))) {
            return java.util.Optional.empty();
        }
        java.util.Optional<List<String>> yd = facts.dims(y);
        java.util.Optional<List<String>> od = facts.dims(mm.getOutput(0));
        if (yd.isEmpty() || od.isEmpty() || od.get().size() != rank
                || !yd.get().subList(0, rank - 2).equals(od.get().subList(0, rank - 2))
                || yd.get().subList(0, rank - 2).stream().anyMatch(d -> d.startsWith("?"))) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(mm);
    }

    private static String total(GraphBuilder g, List<String> parts) {
        if (parts == null || parts.isEmpty()) {
            return null;
        }
        return parts.size() == 1 ? parts.get(0) : g.node("Sum", parts.toArray(String[]::new));
    }

    private static ValueInfoProto valueInfo(TensorProto t) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        t.getDimsList().forEach(d -> shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d)));
        return ValueInfoProto.newBuilder().setName(t.getName()).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(t.getDataType()).setShape(shape))).build();
    }
}
