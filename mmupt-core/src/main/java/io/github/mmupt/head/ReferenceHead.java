package io.github.mmupt.head;

import com.google.common.primitives.ImmutableDoubleArray;
import java.util.List;

/**
 * The LM head in double precision, written for clarity rather than speed: the oracle that every fast kernel
 * is tested against. Dimensions: T tokens, d hidden, V vocabulary, r LoRA rank.
 *
 * <p>Forward, for a hidden state h [d] and temperature tau:
 * <pre>
 *   z = W h                          (full head)
 *   z = W0 h + (alpha / r) B (A h)   (LoRA)
 *   log p = z / tau - logsumexp(z / tau)
 *   entropy = -sum_v p_v log p_v
 * </pre>
 * Backward, given the upstream gradient g_t = dL/d(log p_t(y_t)) of each token:
 * <pre>
 *   dL/dz_t[v] = (g_t / tau) (1[v = y_t] - p_t[v])
 *   dL/dW     += dz_t h_t^T                  dL/dh_t = W^T dz_t
 *   u_t = A h_t;  dL/dB += s dz_t u_t^T;     gu_t = s B^T dz_t;  dL/dA += gu_t h_t^T
 *   dL/dh_t = W0^T dz_t + A^T gu_t           (LoRA, s = alpha / r)
 * </pre>
 *
 * <p>Mutable: an optimizer updates {@link #trainableTensors()} in place. Not thread-safe.
 */
public final class ReferenceHead {

    private final HeadShape shape;
    private final double[] weight; // (V, d): the full head, or the frozen W0 of a LoRA
    private final double[] loraA;  // (r, d), empty for a full head
    private final double[] loraB;  // (V, r), empty for a full head

    private ReferenceHead(HeadShape shape, double[] weight, double[] loraA, double[] loraB) {
        this.shape = shape;
        this.weight = weight;
        this.loraA = loraA;
        this.loraB = loraB;
    }

    /**
     * A full head; {@code weight} [V x d] row-major is copied.
     *
     * @param shape a full head's shape
     * @param weight W [V x d] (copied)
     * @return the head
     */
    public static ReferenceHead full(HeadShape shape, double[] weight) {
        if (shape.isLora()) {
            throw new IllegalArgumentException("full() needs a full-head shape, got LoRA rank " + shape.loraRank());
        }
        checkTensor("weight", weight, shape.weightSize(), shape.vocabSize() + " x " + shape.hiddenSize());
        return new ReferenceHead(shape, weight.clone(), new double[0], new double[0]);
    }

    /**
     * A LoRA on a frozen head; all arrays row-major and copied: W0 [V x d], A [r x d], B [V x r].
     *
     * @param shape a LoRA head's shape
     * @param base W0 [V x d]
     * @param loraA A [r x d]
     * @param loraB B [V x r]
     * @return the head
     */
    public static ReferenceHead lora(HeadShape shape, double[] base, double[] loraA, double[] loraB) {
        if (!shape.isLora()) {
            throw new IllegalArgumentException("lora() needs a LoRA shape (rank > 0)");
        }
        int v = shape.vocabSize();
        int d = shape.hiddenSize();
        int r = shape.loraRank();
        checkTensor("W0", base, v * d, v + " x " + d);
        checkTensor("A", loraA, r * d, r + " x " + d);
        checkTensor("B", loraB, v * r, v + " x " + r);
        return new ReferenceHead(shape, base.clone(), loraA.clone(), loraB.clone());
    }

    private static void checkTensor(String name, double[] values, int expected, String shapeText) {
        if (values == null || values.length != expected) {
            throw new IllegalArgumentException(name + " must have shape [" + shapeText + "] = " + expected
                    + " values, got " + (values == null ? "null" : values.length));
        }
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] is " + values[i] + "; weights must be finite");
            }
        }
    }

    /** {@return the head's shape} */
    public HeadShape shape() {
        return shape;
    }

    /** {@return an independent copy, for example the frozen reference policy for the KL term} */
    public ReferenceHead copy() {
        return new ReferenceHead(shape, weight.clone(), loraA.clone(), loraB.clone());
    }

    /**
     * The live arrays an optimizer updates in place: [W] for a full head, [A, B] for a LoRA (W0 is frozen).
     * Their order matches {@link HeadGradients}: weight, or loraA then loraB.
     *
     * @return the arrays themselves (the optimizer updates them in place)
     */
    public List<double[]> trainableTensors() {
        return shape.isLora() ? List.of(loraA, loraB) : List.of(weight);
    }

    /** {@return the effective head W (or W0 + s B A) [V x d], row-major, as a new array} */
    public double[] effectiveWeight() {
        if (!shape.isLora()) {
            return weight.clone();
        }
        int v = shape.vocabSize();
        int d = shape.hiddenSize();
        int r = shape.loraRank();
        double s = shape.loraScale();
        double[] w = weight.clone();
        for (int row = 0; row < v; row++) {
            for (int k = 0; k < r; k++) {
                double b = s * loraB[row * r + k];
                for (int j = 0; j < d; j++) {
                    w[row * d + j] += b * loraA[k * d + j];
                }
            }
        }
        return w;
    }

    /**
     * Copies of W (or W0), A and B.
     *
     * @return W, or W0 of a LoRA head (a copy)
     */
    public double[] weight() {
        return weight.clone();
    }

    /** {@return A of a LoRA head (a copy)} */
    public double[] loraA() {
        return loraA.clone();
    }

    /** {@return B of a LoRA head (a copy)} */
    public double[] loraB() {
        return loraB.clone();
    }

    /**
     * Raw logits z = W h of row {@code t} of {@code hidden} [T x d], into {@code out} [V].
     *
     * @param hidden [T x d] hidden states
     * @param t T
     * @param out [T x V] logits
     */
    public void logits(double[] hidden, int t, double[] out) {
        int v = shape.vocabSize();
        int d = shape.hiddenSize();
        int off = t * d;
        for (int row = 0; row < v; row++) {
            double z = 0;
            for (int j = 0; j < d; j++) {
                z += weight[row * d + j] * hidden[off + j];
            }
            out[row] = z;
        }
        if (shape.isLora()) {
            double[] u = loraProjection(hidden, t);
            int r = shape.loraRank();
            double s = shape.loraScale();
            for (int row = 0; row < v; row++) {
                double z = 0;
                for (int k = 0; k < r; k++) {
                    z += loraB[row * r + k] * u[k];
                }
                out[row] += s * z;
            }
        }
    }

    /** u = A h_t [r]. */
    private double[] loraProjection(double[] hidden, int t) {
        int d = shape.hiddenSize();
        int r = shape.loraRank();
        double[] u = new double[r];
        for (int k = 0; k < r; k++) {
            double acc = 0;
            for (int j = 0; j < d; j++) {
                acc += loraA[k * d + j] * hidden[t * d + j];
            }
            u[k] = acc;
        }
        return u;
    }

    /**
     * Log-probs of {@code targets} and entropies, for {@code hidden} [T x d] row-major and targets [T].
     *
     * @param hidden [T x d] hidden states
     * @param targets [T] token ids
     * @param temperature the logits are divided by it
     * @return the log-prob and entropy of each target
     */
    public TokenScores score(double[] hidden, int[] targets, double temperature) {
        int tokens = checkBatch(hidden, targets, temperature);
        double[] logProbs = new double[tokens];
        double[] entropies = new double[tokens];
        double[] z = new double[shape.vocabSize()];
        for (int t = 0; t < tokens; t++) {
            logits(hidden, t, z);
            Softmax sm = Softmax.of(z, temperature);
            logProbs[t] = sm.logProb(targets[t]);
            entropies[t] = sm.entropy();
        }
        return new TokenScores(ImmutableDoubleArray.copyOf(logProbs), ImmutableDoubleArray.copyOf(entropies));
    }

    /**
     * Gradients of L = sum_t L_t given {@code upstream} [T] = dL/d(log p_t(y_t)), for {@code hidden} [T x d].
     *
     * @param hidden [T x d] hidden states
     * @param targets [T] token ids
     * @param temperature the logits are divided by it
     * @param upstream [T] dL/dlog-prob of each token
     * @return the gradients of the trained tensors and of the hidden states
     */
    public HeadGradients backward(double[] hidden, int[] targets, double temperature, double[] upstream) {
        int tokens = checkBatch(hidden, targets, temperature);
        if (upstream == null || upstream.length != tokens) {
            throw new IllegalArgumentException("upstream needs one value per token (" + tokens + "), got "
                    + (upstream == null ? "null" : upstream.length));
        }
        int v = shape.vocabSize();
        int d = shape.hiddenSize();
        int r = shape.loraRank();
        double s = shape.loraScale();
        double[] dWeight = shape.isLora() ? new double[0] : new double[v * d];
        double[] dA = new double[r * d];
        double[] dB = new double[v * r];
        double[] dHidden = new double[tokens * d];
        double[] z = new double[v];
        double[] dz = new double[v];
        for (int t = 0; t < tokens; t++) {
            if (upstream[t] == 0) {
                continue;
            }
            logits(hidden, t, z);
            Softmax sm = Softmax.of(z, temperature);
            double scale = upstream[t] / temperature;
            for (int row = 0; row < v; row++) {
                dz[row] = scale * ((row == targets[t] ? 1.0 : 0.0) - sm.prob(row));
            }
            int off = t * d;
            for (int row = 0; row < v; row++) {
                double g = dz[row];
                for (int j = 0; j < d; j++) {
                    dHidden[off + j] += g * weight[row * d + j];
                    if (!shape.isLora()) {
                        dWeight[row * d + j] += g * hidden[off + j];
                    }
                }
            }
            if (shape.isLora()) {
                double[] u = loraProjection(hidden, t);
                double[] gu = new double[r];
                for (int row = 0; row < v; row++) {
                    for (int k = 0; k < r; k++) {
                        dB[row * r + k] += s * dz[row] * u[k];
                        gu[k] += s * dz[row] * loraB[row * r + k];
                    }
                }
                for (int k = 0; k < r; k++) {
                    for (int j = 0; j < d; j++) {
                        dA[k * d + j] += gu[k] * hidden[off + j];
                        dHidden[off + j] += gu[k] * loraA[k * d + j];
                    }
                }
            }
        }
        return new HeadGradients(dWeight, dA, dB, dHidden);
    }

    private int checkBatch(double[] hidden, int[] targets, double temperature) {
        if (!(temperature > 0 && Double.isFinite(temperature))) {
            throw new IllegalArgumentException("temperature must be positive and finite, got " + temperature);
        }
        if (targets == null || hidden == null) {
            throw new IllegalArgumentException("hidden and targets must not be null");
        }
        int tokens = targets.length;
        if ((long) hidden.length != (long) tokens * shape.hiddenSize()) {
            throw new IllegalArgumentException("hidden must be [T=" + tokens + " x d=" + shape.hiddenSize()
                    + "], got " + hidden.length + " values");
        }
        for (int t = 0; t < tokens; t++) {
            if (targets[t] < 0 || targets[t] >= shape.vocabSize()) {
                throw new IllegalArgumentException("target " + t + " is token " + targets[t]
                        + ", outside the vocabulary [0, " + shape.vocabSize() + ")");
            }
        }
        return tokens;
    }

    /** Softmax of z / tau, with its log-normalizer, computed stably once per token. */
    private record Softmax(double[] scaled, double logNormalizer) {

        static Softmax of(double[] z, double temperature) {
            double[] scaled = new double[z.length];
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < z.length; i++) {
                scaled[i] = z[i] / temperature;
                max = Math.max(max, scaled[i]);
            }
            double sum = 0;
            for (double x : scaled) {
                sum += Math.exp(x - max);
            }
            return new Softmax(scaled, max + Math.log(sum));
        }

        double logProb(int i) {
            return scaled[i] - logNormalizer;
        }

        double prob(int i) {
            return Math.exp(logProb(i));
        }

        double entropy() {
            double h = 0;
            for (int i = 0; i < scaled.length; i++) {
                double lp = scaled[i] - logNormalizer;
                h -= Math.exp(lp) * lp;
            }
            return h;
        }
    }
}
