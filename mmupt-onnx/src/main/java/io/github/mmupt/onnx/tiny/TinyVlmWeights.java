package io.github.mmupt.onnx.tiny;

import io.github.mmupt.onnx.model.FloatTensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * All weights of a tiny model, by name, with the shapes {@link TinyVlmConfig} implies. {@link #random} draws
 * them from a seed; a caller may instead set some tensors deliberately (for example a vision encoder whose
 * filters detect colours) with {@link #with}.
 *
 * <p>Names and shapes (MatMul weights are [in x out]):
 * <pre>
 *   vision.conv.weight [d, 3, p, p]   vision.conv.bias [d]   vision.proj.weight [d, d]   vision.proj.bias [d]
 *   embed.weight [V, d]               decoder.positions [maxPositions, d]
 *   layers.{i}.norm1 [d]  layers.{i}.q / k / v [d, d]  layers.{i}.o [d, d]
 *   layers.{i}.norm2 [d]  layers.{i}.up [d, m]  layers.{i}.down [m, d]
 *   norm.final [d]        lm_head [d, V]
 * </pre>
 */
public final class TinyVlmWeights {

    private final TinyVlmConfig config;
    private final Map<String, FloatTensor> tensors;

    private TinyVlmWeights(TinyVlmConfig config, Map<String, FloatTensor> tensors) {
        this.config = config;
        this.tensors = tensors;
    }

    /**
     * Every tensor's expected shape.
     *
     * @param c the dimensions
     * @return the shape of every weight, by name
     */
    public static Map<String, long[]> shapes(TinyVlmConfig c) {
        Map<String, long[]> s = new LinkedHashMap<>();
        long d = c.hiddenSize();
        s.put("vision.conv.weight", new long[] {d, 3, c.patchSize(), c.patchSize()});
        s.put("vision.conv.bias", new long[] {d});
        s.put("vision.proj.weight", new long[] {d, d});
        s.put("vision.proj.bias", new long[] {d});
        s.put("embed.weight", new long[] {c.vocabSize(), d});
        s.put("decoder.positions", new long[] {c.maxPositions(), d});
        for (int i = 0; i < c.layers(); i++) {
            s.put("layers." + i + ".norm1", new long[] {d});
            for (String p : new String[] {"q", "k", "v", "o"}) {
                s.put("layers." + i + "." + p, new long[] {d, d});
            }
            s.put("layers." + i + ".norm2", new long[] {d});
            s.put("layers." + i + ".up", new long[] {d, c.mlpSize()});
            s.put("layers." + i + ".down", new long[] {c.mlpSize(), d});
        }
        s.put("norm.final", new long[] {d});
        s.put("lm_head", new long[] {d, c.vocabSize()});
        return s;
    }

    /**
     * Weights drawn from a seed: matrices with variance 1 / fan-in, norms at 1, biases at 0; the same seed
     * always gives the same model.
     *
     * @param config the dimensions
     * @param seed the random seed
     * @return the weights
     */
    public static TinyVlmWeights random(TinyVlmConfig config, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, FloatTensor> t = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes(config).entrySet()) {
            long[] dims = e.getValue();
            int n = (int) Arrays.stream(dims).reduce(1, (a, b) -> a * b);
            float[] v = new float[n];
            String name = e.getKey();
            if (name.contains("norm")) {
                Arrays.fill(v, 1f);
            } else if (!name.endsWith("bias")) {
                long fanIn = name.equals("vision.conv.weight") ? dims[1] * dims[2] * dims[3]
                        : name.equals("embed.weight") || name.equals("decoder.positions") ? 1 : dims[0];
                double scale = name.equals("decoder.positions") ? 0.1 : 1.0 / Math.sqrt(fanIn);
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (scale * gaussian(rng));
                }
            }
            t.put(name, FloatTensor.of(dims, v));
        }
        return new TinyVlmWeights(config, t);
    }

    /**
     * A copy with one tensor replaced; its shape must be the expected one.
     *
     * @param name the weight's name
     * @param values its new values
     * @return the changed weights
     */
    public TinyVlmWeights with(String name, float[] values) {
        long[] dims = shapes(config).get(name);
        if (dims == null) {
            throw new IllegalArgumentException("no tiny-model tensor named " + name + " (known: " + tensors.keySet() + ")");
        }
        Map<String, FloatTensor> copy = new LinkedHashMap<>(tensors);
        copy.put(name, FloatTensor.of(dims, values));
        return new TinyVlmWeights(config, copy);
    }

    /** {@return the dimensions} */
    public TinyVlmConfig config() {
        return config;
    }

    /**
     * One weight by name.
     *
     * @param name the weight's name
     * @return its dimensions and values
     */
    public FloatTensor get(String name) {
        FloatTensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tiny-model tensor named " + name);
        }
        return t;
    }

    private static double gaussian(SplittableRandom rng) {
        double u = rng.nextDouble(1e-12, 1.0);
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble());
    }
}
