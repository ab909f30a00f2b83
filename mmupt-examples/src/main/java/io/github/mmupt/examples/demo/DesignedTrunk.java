package io.github.mmupt.examples.demo;

import io.github.mmupt.onnx.tiny.TinyVlmConfig;
import io.github.mmupt.onnx.tiny.TinyVlmWeights;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import java.util.SplittableRandom;

/**
 * The frozen trunk of the embedded default, with weights set by hand so that its final hidden state carries what
 * the task needs (a randomly initialized trunk does not: the features then do not separate the answers). The
 * head on top still has to learn everything: which feature means which token.
 *
 * <p>It counts in three <em>ways of looking</em>, chosen by the response's first word ({@code across},
 * {@code down}, {@code diagonal}): each weighs a pixel by where it sits in its 12x12 patch
 * ({@link #SENSITIVITY}), so each way miscounts some pictures, different ones for each way, and {@code across}
 * least often (per colour count about 95%, 82% and 85% right). Sampled responses that look in different ways
 * make independent mistakes, so their majority answer beats a single response: the regime in which majority
 * voting carries signal (MM-UPT), and a policy can improve by learning which way to look.
 *
 * <p>The residual stream, d = 192 (a large constant dimension keeps RMSNorm's scale nearly fixed, so the
 * normalized stream is the raw one):
 * <pre>
 *   0 constant (200)   1 image marker   2 bag marker (question colours, way of looking)   3 digit marker
 *   4 sink (BOS)       5 digit value
 *   6..14 weighted colour pixels of a patch, 3 ways x 3 colours (image rows)
 *   15..17 one-hot of a question colour word                  18..41 position (12 frequencies, cos and sin)
 *   42..81 one-hot of the current token                       82..121 one-hot of the previous token
 *   122..130 shapes of each colour, each way                  131..133 colours the question asks about
 *   134..136 the way of looking the response chose            137 sum of the digits written so far
 *   138 the count of the colour just written, seen the chosen way
 *   139..143 bumps of 138 at 0..4                             144..152 bumps of 137 at 0..8
 *   153..191 random ReLU features of the above
 * </pre>
 * Layer 0 attention: head 0 averages the image rows (colour counts), head 1 sums the question's colour words and
 * the way of looking, head 2 reads the previous token (positions rotated by one step), head 3 sums the digits
 * written so far (heads 1 and 3 keep a strong sink on BOS so their outputs are sums, not means). Layer 0 MLP:
 * the count of the colour named by the current token, the chosen way. Layer 1 MLP: triangular bumps of that
 * count and of the digit sum, and random features. The vision encoder sums weighted pixels of each colour per
 * patch (pure RGB on white is linear in the pixel values) in units of a 6x6 shape.
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
    /** Ways of looking (the response's first word): {@link ShapesTask#METHODS}. */
    static final int METHODS = 3;
    private static final int COUNT = 6;                    // METHODS x 3 colours
    private static final int QCOL = COUNT + 3 * METHODS;
    private static final int POS = QCOL + 3;
    private static final int FREQS = 12;
    /** Tokens the one-hot slots have room for. */
    static final int VOCAB_SLOTS = 40;
    private static final int TOK = POS + 2 * FREQS;
    private static final int PREV = TOK + VOCAB_SLOTS;
    private static final int IMGCOUNT = PREV + VOCAB_SLOTS;  // METHODS x 3 colours
    private static final int QBAG = IMGCOUNT + 3 * METHODS;
    private static final int MBAG = QBAG + 3;                // which way of looking the response chose
    private static final int DIGSUM = MBAG + METHODS;
    private static final int SEL = DIGSUM + 1;
    private static final int SELBUMP = SEL + 1;
    private static final int SUMBUMP = SELBUMP + 5;
    private static final int RAND = SUMBUMP + 9;
    private static final int RAND_COUNT = D - RAND;

    private static final float CONSTANT = 200f;
    private static final double SCORE = 15.0;     // attention sharpness of the marker heads
    private static final double SINK_MARGIN = 9.0; // the sink outweighs one matching key by e^9: sums exact to 4e-4
    private static final double PREV_SCORE = 4.0;  // per frequency, for the previous-token head
    private static final double GATE = 10.0;       // gating offset of the colour-count units

    private DesignedTrunk() {
    }

    /** The residual stream's regions, name to [first, end), in order: they must tile [0, D) without overlap. */
    static java.util.LinkedHashMap<String, int[]> regions() {
        java.util.LinkedHashMap<String, int[]> r = new java.util.LinkedHashMap<>();
        r.put("markers", new int[] {BIG, DVAL + 1});
        r.put("patch counts", new int[] {COUNT, COUNT + 3 * METHODS});
        r.put("question colour", new int[] {QCOL, QCOL + 3});
        r.put("position", new int[] {POS, POS + 2 * FREQS});
        r.put("token", new int[] {TOK, TOK + VOCAB_SLOTS});
        r.put("previous token", new int[] {PREV, PREV + VOCAB_SLOTS});
        r.put("image counts", new int[] {IMGCOUNT, IMGCOUNT + 3 * METHODS});
        r.put("question bag", new int[] {QBAG, QBAG + 3});
        r.put("way bag", new int[] {MBAG, MBAG + METHODS});
        r.put("digit sum", new int[] {DIGSUM, DIGSUM + 1});
        r.put("selected count", new int[] {SEL, SEL + 1});
        r.put("count bumps", new int[] {SELBUMP, SELBUMP + 5});
        r.put("sum bumps", new int[] {SUMBUMP, SUMBUMP + 9});
        r.put("random features", new int[] {RAND, D});
        return r;
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
        w = w.with("layers.0.v", layer0Values(tok));
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

    /**
     * How strongly each way of looking weighs a pixel by where it sits in its 12x12 patch: 1 + a cos(...) along x
     * ({@code across}), along y ({@code down}) or along the diagonal ({@code diagonal}), mean 1 over the patch,
     * a in [0, 1] so the weights stay non-negative. A shape's weighted area depends on its position, so each way
     * miscounts some pictures, and the three miss different ones; {@code across} is the most reliable (smallest a).
     */
    static final double[] SENSITIVITY = {0.3, 0.6, 0.95};

    static double pixelWeight(int method, int x, int y, int patch) {
        double phase = switch (method) {
            case 0 -> x + 0.5;
            case 1 -> y + 0.5;
            default -> x + y + 1.0;
        };
        return 1 + SENSITIVITY[method] * Math.cos(2 * Math.PI * phase / patch);
    }

    private static int countChannel(int method, int colour) {
        return COUNT + 3 * method + colour;
    }

    private static float[] visionConv(TinyVlmConfig c) {
        int p = c.patchSize();
        float[] w = new float[D * 3 * p * p];
        // colourness of a pure colour on white in normalized pixels x in [-1, 1]: (x_c - x_o1 - x_o2 + 1) / 4
        for (int m = 0; m < METHODS; m++) {
            for (int col = 0; col < 3; col++) {
                for (int in = 0; in < 3; in++) {
                    double v = (in == col ? 0.25 : -0.25) / ShapesTask.UNIT_AREA;
                    for (int y = 0; y < p; y++) {
                        for (int x = 0; x < p; x++) {
                            w[(countChannel(m, col) * 3 + in) * p * p + y * p + x] = (float) (v * pixelWeight(m, x, y, p));
                        }
                    }
                }
            }
        }
        return w;
    }

    private static float[] visionBias(TinyVlmConfig c) {
        int p = c.patchSize();
        float[] b = new float[D];
        for (int m = 0; m < METHODS; m++) {
            double total = 0;
            for (int y = 0; y < p; y++) {
                for (int x = 0; x < p; x++) {
                    total += pixelWeight(m, x, y, p);
                }
            }
            for (int col = 0; col < 3; col++) {
                b[countChannel(m, col)] = (float) (0.25 * total / ShapesTask.UNIT_AREA);
            }
        }
        return b;
    }

    private static float[] visionProjection() {
        float[] w = new float[D * D];
        for (int k = 0; k < 3 * METHODS; k++) {
            w[(COUNT + k) * D + COUNT + k] = 1f;
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
            if (ShapesTask.METHODS.contains(t)) {
                e[row + QC] = 1f; // head 1 also collects the response's way of looking
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

    private static float[] layer0Values(VocabularyTokenizer tok) {
        float[] v = new float[D * D];
        for (int k = 0; k < 3 * METHODS; k++) {
            v[(COUNT + k) * D + col(0, k)] = 1f;
        }
        for (int col = 0; col < 3; col++) {
            v[(QCOL + col) * D + col(1, col)] = 1f;
        }
        for (int m = 0; m < METHODS; m++) {
            v[(TOK + tok.id(ShapesTask.METHODS.get(m))) * D + col(1, 3 + m)] = 1f;
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
        for (int k = 0; k < 3 * METHODS; k++) {
            o[col(0, k) * D + IMGCOUNT + k] = 16f; // the mean over 16 patches, back to a total
        }
        for (int col = 0; col < 3; col++) {
            o[col(1, col) * D + QBAG + col] = sinkScale;
        }
        for (int m = 0; m < METHODS; m++) {
            o[col(1, 3 + m) * D + MBAG + m] = sinkScale;
        }
        for (int t = 0; t < VOCAB_SLOTS; t++) {
            o[col(2, t) * D + PREV + t] = 1f;
        }
        o[col(3, 0) * D + DIGSUM] = sinkScale;
        return o;
    }

    /**
     * Unit (m, c): ReLU(count of colour c seen the m-th way + G [current token is colour word c] + G [the response
     * chose way m] - 2 G): the count of the named colour, as the chosen way of looking sees it.
     */
    private static float[] selectUp(VocabularyTokenizer tok) {
        float[] up = new float[D * MLP];
        for (int m = 0; m < METHODS; m++) {
            for (int col = 0; col < 3; col++) {
                int unit = 3 * m + col;
                up[(IMGCOUNT + unit) * MLP + unit] = 1f;
                up[(TOK + tok.id(ShapesTask.RESPONSE_COLORS[col])) * MLP + unit] = (float) GATE;
                up[(MBAG + m) * MLP + unit] = (float) GATE;
                up[BIG * MLP + unit] = (float) (-2 * GATE);
            }
        }
        return up;
    }

    private static float[] selectDown() {
        float[] down = new float[MLP * D];
        for (int unit = 0; unit < 3 * METHODS; unit++) {
            down[unit * D + SEL] = 1f;
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
        int[] inputs = concat(range(TOK, VOCAB_SLOTS), range(PREV, VOCAB_SLOTS), range(IMGCOUNT, 3 * METHODS), range(QBAG, 3),
                range(MBAG, METHODS), new int[] {DIGSUM, SEL});
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
