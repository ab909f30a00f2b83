package io.github.mmupt.examples.demo;

import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tiny.TinyVlmWeights;
import io.github.mmupt.onnx.tiny.VocabularyTokenizer;
import java.util.SplittableRandom;

/**
 * The frozen trunk of the embedded default, with weights set by hand so that its final hidden state carries what
 * the task needs (a randomly initialized trunk does not: the features then do not separate the answers). The
 * head on top still has to learn everything: which feature means which token.
 *
 * <p>The residual stream, d = 192 (a large constant dimension keeps RMSNorm's scale nearly fixed, so the
 * normalized stream is the raw one):
 * <pre>
 *   0 constant (200)   1 image marker   2 question-colour marker   3 digit marker   4 sink (BOS)   5 digit value
 *   6..8 colour pixels of a patch, in shapes (image rows)    9..11 one-hot of a question colour word
 *   12..35 position (12 frequencies, cos and sin)             36..75 one-hot of the current token
 *   76..115 one-hot of the previous token                     116..118 shapes of each colour in the image
 *   119..121 colours the question asks about                  122 sum of the digits written so far
 *   123 the count of the colour just written                  124..128 bumps of 123 at 0..4
 *   129..137 bumps of 122 at 0..8                             138..191 random ReLU features of the above
 * </pre>
 * Layer 0 attention: head 0 averages the image rows (colour counts), head 1 sums the question's colour words,
 * head 2 reads the previous token (positions rotated by one step), head 3 sums the digits written so far (heads 1
 * and 3 keep a strong sink on BOS so their outputs are sums, not means). Layer 0 MLP: the count of the colour
 * named by the current token. Layer 1 MLP: triangular bumps of that count and of the digit sum, and random
 * features. The vision encoder counts pixels of each colour per patch (pure RGB on white is linear in the pixel
 * values) in units of a 6x6 shape.
 */
public final class DesignedTrunk {

    static final int D = 192;
    static final int HEADS = 4;
    static final int HEAD_DIM = D / HEADS;
    static final int MLP = 112;

    private static final int BIG = 0;
    private static final int IMG = 1;
    private static final int QC = 2;
    private static final int DIG = 3;
    private static final int SINK = 4;
    private static final int DVAL = 5;
    private static final int COUNT = 6;
    private static final int QCOL = 9;
    private static final int POS = 12;
    private static final int FREQS = 12;
    /** Tokens the one-hot slots have room for. */
    static final int VOCAB_SLOTS = 40;
    private static final int TOK = 36;
    private static final int PREV = TOK + VOCAB_SLOTS;
    private static final int IMGCOUNT = PREV + VOCAB_SLOTS;
    private static final int QBAG = IMGCOUNT + 3;
    private static final int DIGSUM = QBAG + 3;
    private static final int SEL = DIGSUM + 1;
    private static final int SELBUMP = SEL + 1;
    private static final int SUMBUMP = SELBUMP + 5;
    private static final int RAND = SUMBUMP + 9;
    private static final int RAND_COUNT = D - RAND;

    private static final float CONSTANT = 200f;
    private static final double SCORE = 15.0;     // attention sharpness of the marker heads
    private static final double SINK_MARGIN = 5.0; // the sink outweighs one matching key by e^5
    private static final double PREV_SCORE = 4.0;  // per frequency, for the previous-token head
    private static final double GATE = 10.0;       // gating offset of the colour-count units

    private DesignedTrunk() {
    }

    public static TinyVlmConfig config(int vocabSize) {
        return new TinyVlmConfig(vocabSize, D, 2, HEADS, MLP, 64, ShapesTask.IMAGE_SIZE, 12);
    }

    /** The trunk's weights; {@code seed} draws the random features and the initial head. */
    public static TinyVlmWeights weights(TinyVlmConfig c, VocabularyTokenizer tok, long seed) {
        if (c.hiddenSize() != D || c.heads() != HEADS || c.mlpSize() != MLP || c.layers() != 2) {
            throw new IllegalArgumentException("the designed trunk needs " + config(c.vocabSize()) + ", got " + c);
        }
        if (c.vocabSize() > VOCAB_SLOTS) {
            throw new IllegalArgumentException("the designed trunk has room for " + VOCAB_SLOTS + " tokens, the vocabulary has "
                    + c.vocabSize());
        }
        SplittableRandom rng = new SplittableRandom(seed);
        TinyVlmWeights w = TinyVlmWeights.random(c, seed);
        w = w.with("vision.conv.weight", visionConv(c));
        w = w.with("vision.conv.bias", visionBias(c));
        w = w.with("vision.proj.weight", visionProjection());
        float[] projBias = new float[D];
        projBias[BIG] = CONSTANT;
        projBias[IMG] = 1f;
        w = w.with("vision.proj.bias", projBias);
        w = w.with("embed.weight", embeddings(c, tok));
        w = w.with("decoder.positions", positions(c));
        float rms = (float) (CONSTANT / Math.sqrt(D)); // RMSNorm's divisor, nearly constant thanks to dimension 0
        float[] gain = new float[D];
        java.util.Arrays.fill(gain, rms);
        gain[BIG] = rms / CONSTANT;                     // the constant comes out as 1: a bias input
        for (String name : new String[] {"layers.0.norm1", "layers.0.norm2", "layers.1.norm1", "layers.1.norm2", "norm.final"}) {
            w = w.with(name, gain.clone());
        }
        w = w.with("layers.0.q", layer0Queries());
        w = w.with("layers.0.k", layer0Keys());
        w = w.with("layers.0.v", layer0Values());
        w = w.with("layers.0.o", layer0Outputs());
        w = w.with("layers.0.up", selectUp(tok));
        w = w.with("layers.0.down", selectDown());
        for (String p : new String[] {"q", "k", "v", "o"}) {
            w = w.with("layers.1." + p, new float[D * D]);
        }
        w = w.with("layers.1.up", bumpsAndFeaturesUp(rng));
        w = w.with("layers.1.down", bumpsAndFeaturesDown());
        float[] head = new float[D * c.vocabSize()];
        for (int i = 0; i < head.length; i++) {
            head[i] = (float) (0.01 * gaussian(rng));
        }
        return w.with("lm_head", head);
    }

    private static float[] visionConv(TinyVlmConfig c) {
        int p = c.patchSize();
        float[] w = new float[D * 3 * p * p];
        // colourness of a pure colour on white in normalized pixels x in [-1, 1]: (x_c - x_o1 - x_o2 + 1) / 4
        for (int col = 0; col < 3; col++) {
            for (int in = 0; in < 3; in++) {
                float v = (float) ((in == col ? 0.25 : -0.25) / ShapesTask.UNIT_AREA);
                for (int i = 0; i < p * p; i++) {
                    w[((COUNT + col) * 3 + in) * p * p + i] = v;
                }
            }
        }
        return w;
    }

    private static float[] visionBias(TinyVlmConfig c) {
        float[] b = new float[D];
        for (int col = 0; col < 3; col++) {
            b[COUNT + col] = (float) (0.25 * c.patchSize() * c.patchSize() / ShapesTask.UNIT_AREA);
        }
        return b;
    }

    private static float[] visionProjection() {
        float[] w = new float[D * D];
        for (int col = 0; col < 3; col++) {
            w[(COUNT + col) * D + COUNT + col] = 1f;
        }
        return w;
    }

    private static float[] embeddings(TinyVlmConfig c, VocabularyTokenizer tok) {
        float[] e = new float[c.vocabSize() * D];
        for (int id = 0; id < c.vocabSize(); id++) {
            int row = id * D;
            e[row + BIG] = CONSTANT;
            e[row + TOK + id] = 1f;
            String t = tok.token(id);
            if (t.length() == 1 && Character.isDigit(t.charAt(0))) {
                e[row + DIG] = 1f;
                e[row + DVAL] = t.charAt(0) - '0';
            }
            for (int col = 0; col < 3; col++) {
                if (t.equals(ShapesTask.COLORS[col])) {
                    e[row + QC] = 1f;
                    e[row + QCOL + col] = 1f;
                }
            }
            if (t.equals(VocabularyTokenizer.BOS)) {
                e[row + SINK] = 1f;
            }
        }
        return e;
    }

    private static double frequency(int f) {
        return f < 6 ? Math.PI * (f + 1) / 6 : Math.PI * (f - 5) / 7;
    }

    private static float[] positions(TinyVlmConfig c) {
        float[] p = new float[c.maxPositions() * D];
        for (int pos = 0; pos < c.maxPositions(); pos++) {
            for (int f = 0; f < FREQS; f++) {
                p[pos * D + POS + 2 * f] = (float) Math.cos(frequency(f) * pos);
                p[pos * D + POS + 2 * f + 1] = (float) Math.sin(frequency(f) * pos);
            }
        }
        return p;
    }

    /** Column of head h, slot j, in a [D x D] projection. */
    private static int col(int head, int slot) {
        return head * HEAD_DIM + slot;
    }

    private static float[] layer0Queries() {
        float[] q = new float[D * D];
        float scale = (float) Math.sqrt(HEAD_DIM); // undoes the 1/sqrt(head dim) of the scores
        q[BIG * D + col(0, 0)] = (float) (SCORE * scale);
        q[BIG * D + col(1, 0)] = (float) (SCORE * scale);
        q[BIG * D + col(3, 0)] = (float) (SCORE * scale);
        // head 2: the query is the position rotated back one step, so it matches the previous position's key
        for (int f = 0; f < FREQS; f++) {
            double w = frequency(f);
            float cs = (float) (Math.cos(w) * PREV_SCORE * scale);
            float sn = (float) (Math.sin(w) * PREV_SCORE * scale);
            int ci = POS + 2 * f;
            int si = ci + 1;
            // [cos(a - w), sin(a - w)] = [cos a cos w + sin a sin w, sin a cos w - cos a sin w]
            q[ci * D + col(2, 2 * f)] = cs;
            q[si * D + col(2, 2 * f)] = sn;
            q[si * D + col(2, 2 * f + 1)] = cs;
            q[ci * D + col(2, 2 * f + 1)] = -sn;
        }
        return q;
    }

    private static float[] layer0Keys() {
        float[] k = new float[D * D];
        k[IMG * D + col(0, 0)] = 1f;
        k[QC * D + col(1, 0)] = 1f;
        k[SINK * D + col(1, 0)] = (float) (1 + SINK_MARGIN / SCORE);
        k[DIG * D + col(3, 0)] = 1f;
        k[SINK * D + col(3, 0)] = (float) (1 + SINK_MARGIN / SCORE);
        for (int i = 0; i < 2 * FREQS; i++) {
            k[(POS + i) * D + col(2, i)] = 1f;
        }
        return k;
    }

    private static float[] layer0Values() {
        float[] v = new float[D * D];
        for (int col = 0; col < 3; col++) {
            v[(COUNT + col) * D + col(0, col)] = 1f;
            v[(QCOL + col) * D + col(1, col)] = 1f;
        }
        for (int t = 0; t < VOCAB_SLOTS; t++) {
            v[(TOK + t) * D + col(2, t)] = 1f;
        }
        v[DVAL * D + col(3, 0)] = 1f;
        return v;
    }

    private static float[] layer0Outputs() {
        float[] o = new float[D * D];
        float sinkScale = (float) Math.exp(SINK_MARGIN);
        for (int col = 0; col < 3; col++) {
            o[col(0, col) * D + IMGCOUNT + col] = 16f; // the mean over 16 patches, back to a total
            o[col(1, col) * D + QBAG + col] = sinkScale;
        }
        for (int t = 0; t < VOCAB_SLOTS; t++) {
            o[col(2, t) * D + PREV + t] = 1f;
        }
        o[col(3, 0) * D + DIGSUM] = sinkScale;
        return o;
    }

    /** Unit c: ReLU(count of colour c + G [current token is colour word c] - G): the count of the named colour. */
    private static float[] selectUp(VocabularyTokenizer tok) {
        float[] up = new float[D * MLP];
        for (int col = 0; col < 3; col++) {
            up[(IMGCOUNT + col) * MLP + col] = 1f;
            up[(TOK + tok.id(ShapesTask.RESPONSE_COLORS[col])) * MLP + col] = (float) GATE;
            up[BIG * MLP + col] = (float) -GATE;
        }
        return up;
    }

    private static float[] selectDown() {
        float[] down = new float[MLP * D];
        for (int col = 0; col < 3; col++) {
            down[col * D + SEL] = 1f;
        }
        return down;
    }

    /** Bumps: ReLU(x - k + 1) - 2 ReLU(x - k) + ReLU(x - k - 1) peaks at x = k. Then random ReLU features. */
    private static float[] bumpsAndFeaturesUp(SplittableRandom rng) {
        float[] up = new float[D * MLP];
        int unit = 0;
        for (int[] source : new int[][] {{SEL, 5}, {DIGSUM, 9}}) {
            for (int k = 0; k < source[1]; k++) {
                for (int j = 0; j < 3; j++) {
                    up[source[0] * MLP + unit] = 1f;
                    up[BIG * MLP + unit] = (float) (1 - k - j);
                    unit++;
                }
            }
        }
        int[] inputs = concat(range(TOK, VOCAB_SLOTS), range(PREV, VOCAB_SLOTS), range(IMGCOUNT, 3), range(QBAG, 3), new int[] {DIGSUM, SEL});
        for (int f = 0; f < RAND_COUNT && unit < MLP; f++, unit++) {
            for (int in : inputs) {
                double scale = in >= IMGCOUNT && in < QBAG ? 0.25 : in == DIGSUM ? 0.125 : in == SEL ? 0.25 : 1.0;
                up[in * MLP + unit] = (float) (scale * gaussian(rng) / Math.sqrt(4));
            }
            up[BIG * MLP + unit] = (float) (0.5 * gaussian(rng));
        }
        return up;
    }

    private static float[] bumpsAndFeaturesDown() {
        float[] down = new float[MLP * D];
        int unit = 0;
        for (int[] target : new int[][] {{SELBUMP, 5}, {SUMBUMP, 9}}) {
            for (int k = 0; k < target[1]; k++) {
                down[(unit) * D + target[0] + k] = 1f;
                down[(unit + 1) * D + target[0] + k] = -2f;
                down[(unit + 2) * D + target[0] + k] = 1f;
                unit += 3;
            }
        }
        for (int f = 0; f < RAND_COUNT && unit < MLP; f++, unit++) {
            down[unit * D + RAND + f] = 1f;
        }
        return down;
    }

    private static int[] range(int from, int count) {
        int[] r = new int[count];
        for (int i = 0; i < count; i++) {
            r[i] = from + i;
        }
        return r;
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }

    private static double gaussian(SplittableRandom rng) {
        double u = rng.nextDouble(1e-12, 1.0);
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble());
    }
}
