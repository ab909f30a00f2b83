package io.github.mmupt.onnx.grad;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.onnx.grad.GradientCheck.Value;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.model.TensorInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Checks a decoder trunk's gradients (of a random linear loss of {@code hidden_states}) against central
 * differences along random directions, feeding a 5-token sequence whose first position is padding; the extra
 * inputs (weights made inputs, adapters) are fed the given values.
 */
public final class TrunkGradients {

    /** Tokens in the checked sequence. */
    public static final int SEQUENCE = 5;

    /** The step, relative to the largest entry: larger steps cross the tiny model's ReLU kinks (3e-4 gave 1.3e-3). */
    public static final double EPS = 1e-4;

    private TrunkGradients() {
    }

    /** The trunk's standard inputs for the checked sequence. */
    public static Map<String, Value> standardInputs(OnnxModel trunk, int positionRows, Random random) {
        Map<String, Value> inputs = new LinkedHashMap<>();
        for (TensorInfo in : trunk.inputs()) {
            List<Long> dims = in.dims();
            if (in.name().equals("inputs_embeds")) {
                inputs.put(in.name(), gaussian(random, new long[] {1, SEQUENCE, dims.get(2)}, 1.0));
            } else if (in.name().equals("attention_mask")) {
                inputs.put(in.name(), new Value(new long[] {0, 1, 1, 1, 1}, new long[] {1, SEQUENCE}));
            } else if (in.name().equals("position_ids")) {
                long[] p = new long[positionRows * SEQUENCE];
                for (int i = 0; i < p.length; i++) {
                    p[i] = Math.max(0, i % SEQUENCE - 1);
                }
                inputs.put(in.name(), new Value(p, positionRows == 1 ? new long[] {1, SEQUENCE}
                        : new long[] {positionRows, 1, SEQUENCE}));
            } else if (in.name().startsWith("past_key_values")) {
                inputs.put(in.name(), new Value(new float[0], new long[] {1, dims.get(1), 0, dims.get(3)}));
            }
        }
        return inputs;
    }

    /**
     * Checks d loss / d each of {@code wrt}; returns the worst relative error seen.
     *
     * @param model the trunk (with any extra inputs)
     * @param inputs every input's value
     * @param wrt what to differentiate
     * @param hiddenSize d
     * @param random the source of the loss's weights and the directions
     * @return the worst relative error
     */
    public static double check(OnnxModel model, Map<String, Value> inputs, List<String> wrt, long hiddenSize, Random random)
            throws Exception {
        return check(model, inputs, wrt, hiddenSize, random, EPS);
    }

    /**
     * As {@link #check(OnnxModel, Map, List, long, Random)} with another relative step.
     *
     * @param model the trunk (with any extra inputs)
     * @param inputs every input's value
     * @param wrt what to differentiate
     * @param hiddenSize d
     * @param random the source of the loss's weights and the directions
     * @param eps the step relative to the largest entry
     * @return the worst relative error
     */
    public static double check(OnnxModel model, Map<String, Value> inputs, List<String> wrt, long hiddenSize, Random random,
            double eps) throws Exception {
        Value seed = gaussian(random, new long[] {1, SEQUENCE, hiddenSize}, 1.0);
        // no loss on the padded position, as in training: its query attends nothing, its scores are all -1e9 in
        // float and the forward is flat there (finite differences see 0 where the calculus sees a slope)
        for (int i = 0; i < hiddenSize; i++) {
            seed = seed.with(i, 0);
        }
        double worst = 0;
        try (GradientCheck check = new GradientCheck(model, List.of("hidden_states"), wrt, Map.of("hidden_states", seed))) {
            Map<String, double[]> grads = check.gradients(inputs);
            for (String w : wrt) {
                Value x = inputs.get(w);
                double[] g = grads.get(w);
                assertThat(g).as("gradient of %s", w).hasSize(x.size());
                for (int trial = 0; trial < 3; trial++) {
                    double[] direction = new double[x.size()];
                    double scale = 0;
                    for (int i = 0; i < direction.length; i++) {
                        direction[i] = random.nextGaussian();
                        scale = Math.max(scale, Math.abs(x.get(i)));
                    }
                    double analytic = 0;
                    double norm = 0;
                    for (int i = 0; i < direction.length; i++) {
                        analytic += g[i] * direction[i];
                        norm += Math.abs(g[i] * direction[i]);
                    }
                    double numeric = check.directional(inputs, w, direction, eps * Math.max(scale, 1e-3));
                    double err = Math.abs(analytic - numeric) / Math.max(norm, 1e-12);
                    worst = Math.max(worst, err);
                    if (System.getProperty("grad.verbose") != null) {
                        System.out.printf("%s %d %.3e%n", w, trial, err);
                    }
                    assertThat(err).as("%s along direction %d: analytic %s, numeric %s", w, trial, analytic, numeric)
                            .isLessThan(1e-3);
                }
            }
        }
        return worst;
    }

    public static Value gaussian(Random random, long[] shape, double sd) {
        int n = 1;
        for (long s : shape) {
            n *= (int) s;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (sd * random.nextGaussian());
        }
        return new Value(v, shape);
    }
}
