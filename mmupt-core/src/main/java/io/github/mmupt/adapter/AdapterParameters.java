package io.github.mmupt.adapter;

import io.github.mmupt.grpo.AdamWConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trunk's adapter tensors with their accumulated gradient and AdamW moments: the part of the trainable
 * parameters that lives outside the head. Values are float32 in direct buffers (native order) that the trunk's
 * sessions read in place, so an update is seen by the next forward pass without copying; gradients accumulate
 * in double, in call order, so the result does not depend on threads.
 *
 * <p>The update is the head's AdamW ({@link AdamWConfig}, decoupled weight decay; the learning rate times
 * {@link #learningRateScale()}), applied to the gradient times
 * the clip scale that the head's optimizer computed over head and adapters together. As in the head, a step is
 * accepted only when every value it writes is finite in float32; otherwise nothing changes.
 *
 * <pre>{@code
 * AdapterParameters p = new AdapterParameters(Map.of("q.lora_A.weight", a, "q.lora_B.weight", b));
 * p.addGradient(0, gradA);
 * p.update(adamW, 1.0);
 * }</pre>
 */
public final class AdapterParameters {

    private final List<String> names;
    private final FloatBuffer[] values; // direct, native order: read in place by ONNX Runtime
    private final double[][] gradient;
    private final float[][] firstMoment;
    private final float[][] secondMoment;
    private final double learningRateScale;
    private final String kind;
    private long step;

    /**
     * Adapters starting at the given values, with zero moments and step 0, updated at the head's learning rate.
     *
     * @param initial each tensor's name and values, in order (copied)
     */
    public AdapterParameters(Map<String, float[]> initial) {
        this(initial, 1.0, "adapters");
    }

    /**
     * Adapters starting at the given values, with zero moments and step 0.
     *
     * @param initial each tensor's name and values, in order (copied)
     * @param learningRateScale the adapters' learning rate over the head's, &gt; 0 ("LoRA Without Regret", Schulman
     *                          et al. 2025, found LoRA's best rate about 10 times full fine-tuning's)
     * @param kind what the adapters are beyond names and sizes (a LoRA's rank and alpha), recorded in their states
     */
    public AdapterParameters(Map<String, float[]> initial, double learningRateScale, String kind) {
        if (kind == null || kind.isBlank()) {
            throw new IllegalArgumentException("kind must be a description, e.g. \"LoRA rank 1, alpha 32.0\"");
        }
        this.kind = kind;
        if (initial == null || initial.isEmpty()) {
            throw new IllegalArgumentException("adapters need at least one tensor");
        }
        if (!(learningRateScale > 0) || !Double.isFinite(learningRateScale)) {
            throw new IllegalArgumentException("learningRateScale must be finite and > 0, got " + learningRateScale);
        }
        this.learningRateScale = learningRateScale;
        int n = initial.size();
        names = List.copyOf(initial.keySet());
        values = new FloatBuffer[n];
        gradient = new double[n][];
        firstMoment = new float[n][];
        secondMoment = new float[n][];
        int k = 0;
        for (float[] v : initial.values()) {
            if (v.length == 0) {
                throw new IllegalArgumentException("adapter tensor " + names.get(k) + " is empty");
            }
            values[k] = ByteBuffer.allocateDirect(Math.multiplyExact(v.length, Float.BYTES)).order(ByteOrder.nativeOrder())
                    .asFloatBuffer().put(v);
            values[k].clear();
            gradient[k] = new double[v.length];
            firstMoment[k] = new float[v.length];
            secondMoment[k] = new float[v.length];
            k++;
        }
    }

    /** {@return what the adapters are beyond their names and sizes (a LoRA's rank and alpha)} */
    public String kind() {
        return kind;
    }

    /** {@return the adapters' learning rate over the head's} */
    public double learningRateScale() {
        return learningRateScale;
    }

    /** {@return the tensors' names, in order} */
    public List<String> names() {
        return names;
    }

    /** {@return the number of tensors} */
    public int size() {
        return names.size();
    }

    /**
     * The index of a tensor.
     *
     * @param name its name
     * @return its index
     * @throws IllegalArgumentException when there is no such tensor
     */
    public int index(String name) {
        int k = names.indexOf(name);
        if (k < 0) {
            throw new IllegalArgumentException("no adapter tensor " + name + " among " + names.size());
        }
        return k;
    }

    /** {@return the number of trainable values in all} */
    public long parameterCount() {
        long n = 0;
        for (double[] g : gradient) {
            n += g.length;
        }
        return n;
    }

    /**
     * The live values of tensor {@code k}: what the trunk feeds its sessions (ONNX Runtime reads a direct buffer in
     * place, so the view must stay writable-backed; callers must not write to it: updates go through
     * {@link #update} and {@link #restore}).
     *
     * @param k the index
     * @return a view of the direct buffer, position 0
     */
    public FloatBuffer liveValues(int k) {
        return values[k].duplicate().clear();
    }

    /**
     * A copy of tensor {@code k}'s values.
     *
     * @param k the index
     * @return its values
     */
    public float[] values(int k) {
        float[] out = new float[values[k].capacity()];
        values[k].duplicate().clear().get(out);
        return out;
    }

    /** {@return every tensor's values by name, in order (copies)} */
    public Map<String, float[]> values() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            out.put(names.get(k), values(k));
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Adds to tensor {@code k}'s accumulated gradient.
     *
     * @param k the index
     * @param g its gradient, as many values as the tensor has, read from its position
     */
    public void addGradient(int k, FloatBuffer g) {
        double[] acc = gradient[k];
        if (g.remaining() != acc.length) {
            throw new IllegalArgumentException("the gradient of " + names.get(k) + " has " + g.remaining()
                    + " values, the tensor " + acc.length);
        }
        int at = g.position();
        for (int i = 0; i < acc.length; i++) {
            acc[i] += g.get(at + i);
        }
    }

    /**
     * A copy of tensor {@code k}'s accumulated gradient.
     *
     * @param k the index
     * @return its gradient
     */
    public double[] gradient(int k) {
        return gradient[k].clone();
    }

    /**
     * The sum of squares of the accumulated gradient, the adapters' share of the global norm.
     *
     * @return the sum (NaN or infinite when a gradient is not finite)
     */
    public double gradientSumOfSquares() {
        double s = 0;
        for (double[] g : gradient) {
            for (double x : g) {
                s += x * x;
            }
        }
        return s;
    }

    /**
     * One AdamW step on the accumulated gradient times {@code clipScale}, then clears the gradient. Refused,
     * changing nothing but the gradient (cleared), when a value the step would write is not finite in float32.
     *
     * @param config learning rate, betas, epsilon and weight decay
     * @param clipScale the global-norm clip scale (1 when not clipped), finite and in (0, 1]
     * @return whether the step was applied
     */
    public boolean update(AdamWConfig config, double clipScale) {
        if (!(clipScale > 0 && clipScale <= 1)) {
            throw new IllegalArgumentException("the clip scale is in (0, 1], got " + clipScale);
        }
        long next = step + 1;
        double b1 = config.beta1();
        double b2 = config.beta2();
        double correction1 = 1 - Math.pow(b1, next);
        double correction2 = 1 - Math.pow(b2, next);
        double lr = config.learningRate() * learningRateScale;
        double decay = 1 - lr * config.weightDecay();
        List<float[][]> staged = new ArrayList<>(names.size());
        for (int k = 0; k < names.size(); k++) {
            int n = gradient[k].length;
            float[] p = new float[n];
            float[] m = new float[n];
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                double g = gradient[k][i] * clipScale;
                double mi = b1 * firstMoment[k][i] + (1 - b1) * g;
                double vi = b2 * secondMoment[k][i] + (1 - b2) * g * g;
                double pi = values[k].get(i) * decay - lr * (mi / correction1) / (Math.sqrt(vi / correction2)
                        + config.epsilon());
                p[i] = (float) pi;
                m[i] = (float) mi;
                v[i] = (float) vi;
                if (!Float.isFinite(p[i]) || !Float.isFinite(m[i]) || !Float.isFinite(v[i])) {
                    discardGradient();
                    return false;
                }
            }
            staged.add(new float[][] {p, m, v});
        }
        for (int k = 0; k < names.size(); k++) {
            values[k].clear();
            values[k].put(staged.get(k)[0]).clear();
            firstMoment[k] = staged.get(k)[1];
            secondMoment[k] = staged.get(k)[2];
        }
        step = next;
        discardGradient();
        return true;
    }

    /** Clears the accumulated gradient. */
    public void discardGradient() {
        for (double[] g : gradient) {
            java.util.Arrays.fill(g, 0.0);
        }
    }

    /** {@return updates applied so far} */
    public long step() {
        return step;
    }

    /** {@return the values, moments and step, for a checkpoint} */
    public AdapterState state() {
        Map<String, float[]> t = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            t.put(names.get(k), values(k));
        }
        for (int k = 0; k < names.size(); k++) {
            t.put(AdapterState.FIRST_MOMENT + names.get(k), firstMoment[k]);
            t.put(AdapterState.SECOND_MOMENT + names.get(k), secondMoment[k]);
        }
        return new AdapterState(step, kind, t);
    }

    /**
     * Continues from a saved state: values, moments and step are replaced and the gradient cleared. Checked
     * whole before anything changes.
     *
     * @param state a state of the same adapters (kind, names and sizes)
     * @throws IllegalArgumentException when the kind differs, or a tensor is missing, has another size or is not
     *                                  finite
     */
    public void restore(AdapterState state) {
        if (!state.kind().equals(kind)) {
            throw new IllegalArgumentException("the adapter state is of " + state.kind() + ", these adapters are "
                    + kind);
        }
        List<String> prefixes = List.of("", AdapterState.FIRST_MOMENT, AdapterState.SECOND_MOMENT);
        for (int k = 0; k < names.size(); k++) {
            for (String prefix : prefixes) {
                String name = prefix + names.get(k);
                float[] t = state.tensors().get(name);
                if (t == null) {
                    throw new IllegalArgumentException("the adapter state lacks " + name + ": it was saved for other "
                            + "adapters (this trunk has " + names.size() + " adapter tensors, the state "
                            + state.tensors().size() + " tensors with moments)");
                }
                if (t.length != gradient[k].length) {
                    throw new IllegalArgumentException("the adapter state's " + name + " has " + t.length + " values, "
                            + "this trunk's " + gradient[k].length + " (another rank or model)");
                }
                for (int i = 0; i < t.length; i++) {
                    if (!Float.isFinite(t[i])) {
                        throw new IllegalArgumentException("the adapter state's " + name + "[" + i + "] is " + t[i]);
                    }
                }
            }
        }
        if (state.tensors().size() != 3 * names.size()) {
            throw new IllegalArgumentException("the adapter state has " + state.tensors().size() + " tensors, this "
                    + "trunk's adapters " + 3 * names.size() + " (values and two moments each): saved for other adapters");
        }
        for (int k = 0; k < names.size(); k++) {
            values[k].clear();
            values[k].put(state.tensors().get(names.get(k))).clear();
            firstMoment[k] = state.tensors().get(AdapterState.FIRST_MOMENT + names.get(k)).clone();
            secondMoment[k] = state.tensors().get(AdapterState.SECOND_MOMENT + names.get(k)).clone();
        }
        step = state.step();
        discardGradient();
    }
}
