package io.github.mmupt.onnx.grad;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.onnx.model.OnnxModel;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a forward graph and its gradient graph in ONNX Runtime on the same inputs, for a loss that is a fixed
 * random linear functional of the chosen outputs (sum of output x R), so that the gradient graph's seeds are the
 * R tensors themselves; and measures the same loss's central finite differences. Tensors are double or float
 * arrays with their shapes; int64 inputs pass through.
 */
public final class GradientCheck implements AutoCloseable {

    public static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    /** A tensor: double[] or float[] or long[] values with a shape. */
    public record Value(Object data, long[] shape) {
        public int size() {
            return data instanceof double[] d ? d.length : data instanceof float[] f ? f.length : ((long[]) data).length;
        }

        public double get(int i) {
            return data instanceof double[] d ? d[i] : ((float[]) data)[i];
        }

        public Value with(int i, double v) {
            if (data instanceof double[] d) {
                double[] c = d.clone();
                c[i] = v;
                return new Value(c, shape);
            }
            float[] c = ((float[]) data).clone();
            c[i] = (float) v;
            return new Value(c, shape);
        }

        public Value plus(double[] direction, double eps) {
            Value out = this;
            for (int i = 0; i < size(); i++) {
                out = out.with(i, get(i) + eps * direction[i]);
            }
            return out;
        }
    }

    private final OrtSession forward;
    private final OrtSession gradient;
    private final GradientGraph graph;
    private final Map<String, Value> seeds;

    public GradientCheck(OnnxModel model, List<String> outputs, List<String> wrt, Map<String, Value> seeds) throws Exception {
        this.graph = GradientGraph.build(model, outputs, wrt);
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        // ORT's fusions rewrite MatMul(Transpose) into FusedMatMul, which has no double kernel; the graphs' own
        // ops are what is checked
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
        if (model.externalDataFolder().isPresent()) {
            options.addConfigEntry("session.model_external_initializers_file_folder_path",
                    model.externalDataFolder().get().toString());
        }
        this.forward = ENV.createSession(model.toBytes(), options);
        this.gradient = ENV.createSession(graph.model().toBytes(), options);
        this.seeds = seeds;
    }

    public GradientGraph graph() {
        return graph;
    }

    /** The loss: sum over the outputs of output x seed, accumulated in double. */
    public double loss(Map<String, Value> inputs) throws OrtException {
        Map<String, OnnxTensor> feeds = feeds(inputs);
        try (OrtSession.Result r = forward.run(feeds)) {
            double total = 0;
            for (Map.Entry<String, Value> seed : seeds.entrySet()) {
                double[] out = flat(r.get(seed.getKey()).orElseThrow());
                for (int i = 0; i < out.length; i++) {
                    total += out[i] * seed.getValue().get(i);
                }
            }
            return total;
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** The gradient graph's gradients, by input name. */
    public Map<String, double[]> gradients(Map<String, Value> inputs) throws OrtException {
        Map<String, Value> all = new LinkedHashMap<>(inputs);
        seeds.forEach((o, v) -> all.put(graph.seedInputs().get(o), v));
        Map<String, OnnxTensor> feeds = feeds(all);
        try (OrtSession.Result r = gradient.run(feeds)) {
            Map<String, double[]> out = new HashMap<>();
            graph.gradientOutputs().forEach((w, name) -> out.put(w, flatUnchecked(r.get(name).orElseThrow())));
            return out;
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Central differences of the loss in each element of {@code wrt}. */
    public double[] finiteDifferences(Map<String, Value> inputs, String wrt, double eps) throws OrtException {
        Value x = inputs.get(wrt);
        double[] d = new double[x.size()];
        for (int i = 0; i < d.length; i++) {
            Map<String, Value> plus = new HashMap<>(inputs);
            plus.put(wrt, x.with(i, x.get(i) + eps));
            Map<String, Value> minus = new HashMap<>(inputs);
            minus.put(wrt, x.with(i, x.get(i) - eps));
            d[i] = (loss(plus) - loss(minus)) / (2 * eps);
        }
        return d;
    }

    /** Central difference of the loss along {@code direction} in {@code wrt}. */
    public double directional(Map<String, Value> inputs, String wrt, double[] direction, double eps) throws OrtException {
        Map<String, Value> plus = new HashMap<>(inputs);
        plus.put(wrt, inputs.get(wrt).plus(direction, eps));
        Map<String, Value> minus = new HashMap<>(inputs);
        minus.put(wrt, inputs.get(wrt).plus(direction, -eps));
        return (loss(plus) - loss(minus)) / (2 * eps);
    }

    private static Map<String, OnnxTensor> feeds(Map<String, Value> inputs) throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        for (Map.Entry<String, Value> e : inputs.entrySet()) {
            Value v = e.getValue();
            OnnxTensor t;
            if (v.data() instanceof double[] d) {
                t = OnnxTensor.createTensor(ENV, DoubleBuffer.wrap(d), v.shape());
            } else if (v.data() instanceof float[] f) {
                t = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(f), v.shape());
            } else {
                t = OnnxTensor.createTensor(ENV, java.nio.LongBuffer.wrap((long[]) v.data()), v.shape());
            }
            feeds.put(e.getKey(), t);
        }
        return feeds;
    }

    private static double[] flatUnchecked(OnnxValue v) {
        try {
            return flat(v);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double[] flat(OnnxValue v) throws OrtException {
        OnnxTensor t = (OnnxTensor) v;
        if (t.getInfo().type == ai.onnxruntime.OnnxJavaType.DOUBLE) {
            DoubleBuffer b = t.getDoubleBuffer();
            double[] out = new double[b.remaining()];
            b.get(out);
            return out;
        }
        FloatBuffer b = t.getFloatBuffer();
        double[] out = new double[b.remaining()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }

    @Override
    public void close() throws OrtException {
        forward.close();
        gradient.close();
    }
}
