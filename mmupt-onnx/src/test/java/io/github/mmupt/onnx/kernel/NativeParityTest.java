package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.ClipRange;
import io.github.mmupt.grpo.GoldenCase;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlEstimator;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossAggregation;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.LossResult;
import io.github.mmupt.grpo.ReferenceGrpoLoss;
import io.github.mmupt.head.HeadGradients;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native kernel against the double-precision Java reference, as a cross product: full head and LoRA;
 * every aggregation; KL off, K3 with EasyR1's clamps, and K1; on- and off-policy; a vocabulary that is not a
 * multiple of any block or chunk; masked rows; temperature 1 and 0.7; one and two threads; every instruction
 * set the CPU has. Then the golden vectors of the NumPy script.
 */
class NativeParityTest {

    /** fp32 log-probs against the double reference. */
    static final double LOG_PROB_TOLERANCE = 1e-4;
    /** fp32 gradients: relative to the largest entry of the tensor, as fp32 sums of many terms lose that much. */
    static final double GRADIENT_TOLERANCE = 1e-3;
    /** Loss and entropies. */
    static final double LOSS_TOLERANCE = 1e-4;

    @BeforeAll
    static void nativeLibraryLoads() {
        NativeLibrary.load(); // fails the class loudly, not silently, when the kernel was not built
    }

    static Stream<Arguments> combinations() {
        List<Arguments> out = new ArrayList<>();
        List<KlPenalty> kls = List.of(KlPenalty.none(), KlPenalty.mmUpt(), new KlPenalty(0.1, KlEstimator.K1, false));
        int i = 0;
        for (boolean lora : new boolean[] {false, true}) {
            for (LossAggregation aggregation : LossAggregation.values()) {
                for (KlPenalty kl : kls) {
                    for (boolean offPolicy : new boolean[] {false, true}) {
                        boolean masked = i % 3 == 0;
                        double temperature = i % 2 == 0 ? 1.0 : 0.7;
                        int threads = 1 + i % 2;
                        String isa = List.of("auto", "avx2", "generic").get(i % 3);
                        out.add(Arguments.of(new Combo(lora, aggregation, kl, offPolicy, masked, temperature, threads, isa)));
                        i++;
                    }
                }
            }
        }
        return out.stream();
    }

    record Combo(boolean lora, LossAggregation aggregation, KlPenalty kl, boolean offPolicy, boolean masked,
            double temperature, int threads, String isa) {

        KernelOptions options() {
            return new KernelOptions(threads, isa.equals("auto") ? null : isa, 16);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinations")
    void nativeMatchesTheReference(Combo c) {
        if (!isaAvailable(c.isa())) {
            return; // a CPU without AVX2 runs the other combinations
        }
        Random rng = new Random(c.hashCode());
        int vocab = 203; // not a multiple of a block, a chunk or a vector
        int d = 37;
        int[] lengths = {9, 14, 1, 13}; // 37 tokens: three chunks of 16, the last one short
        int tokens = 37;
        HeadShape shape = c.lora() ? HeadShape.lora(vocab, d, 3, 6.0) : HeadShape.full(vocab, d);
        HeadWeights weights = c.lora()
                ? HeadWeights.lora(shape, gaussian(rng, vocab * d, 0.4), gaussian(rng, 3 * d, 0.4), gaussian(rng, vocab * 3, 0.4))
                : HeadWeights.full(shape, gaussian(rng, vocab * d, 0.4));
        GrpoLossConfig config = GrpoLossConfig.builder().aggregation(c.aggregation()).kl(c.kl())
                .temperature(c.temperature()).clip(ClipRange.mmUpt()).normalizerLength(20).build();
        HiddenStates hidden = HiddenStates.of(tokens, d, gaussian(rng, tokens * d, 1.0));
        int[] targets = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            targets[t] = rng.nextInt(vocab);
        }
        ImmutableIntArray ys = ImmutableIntArray.copyOf(targets);
        String label = c.toString();
        try (NativeGrpoOptimizer nat = new NativeGrpoOptimizer(weights, config, io.github.mmupt.grpo.AdamWConfig.mmUpt(),
                c.options())) {
            ReferenceHead ref = weights.toReference();
            TokenScores nativeScores = nat.score(hidden, ys, HeadVersion.CURRENT);
            TokenScores refScores = ref.score(hidden.toDoubleArray(), targets, c.temperature());
            assertClose(label, "logp", nativeScores.logProbs().toArray(), refScores.logProbs().toArray(),
                    LOG_PROB_TOLERANCE, 0);
            assertClose(label, "entropy", nativeScores.entropies().toArray(), refScores.entropies().toArray(),
                    LOSS_TOLERANCE, 0);

            double[] advantages = new double[tokens];
            double[] old = new double[tokens];
            double[] refLogProbs = new double[tokens];
            double[] shifts = {0.05, 0.6, -0.6, 1.4, -0.2, 0.0};
            int at = 0;
            for (int s = 0; s < lengths.length; s++) {
                double a = rng.nextGaussian();
                for (int k = 0; k < lengths[s]; k++, at++) {
                    advantages[at] = a;
                    // the ratio's old log-prob: the kernel's own score (ratio 1) or shifted into every clip region
                    old[at] = nativeScores.logProbs().get(at) - (c.offPolicy() ? shifts[at % shifts.length] : 0.0);
                    refLogProbs[at] = nativeScores.logProbs().get(at) + (at % 5 == 3 ? 3.0 : 0.3 * rng.nextGaussian());
                }
            }
            double[] w = config.tokenWeights(lengths);
            if (c.masked()) {
                for (int t = 0; t < tokens; t += 4) {
                    w[t] = 0;
                }
            }
            LossBatch batch = new LossBatch(hidden, ys, ImmutableDoubleArray.copyOf(advantages),
                    ImmutableDoubleArray.copyOf(old), c.kl().enabled() ? ImmutableDoubleArray.copyOf(refLogProbs)
                            : ImmutableDoubleArray.of(), ImmutableDoubleArray.copyOf(w));
            LossMetrics nativeMetrics = nat.accumulate(batch);
            LossResult expected = ReferenceGrpoLoss.compute(ref, batch, config);
            assertThat(nativeMetrics.loss()).as("%s: loss", label)
                    .isCloseTo(expected.metrics().loss(), org.assertj.core.api.Assertions.within(LOSS_TOLERANCE));
            assertThat(nativeMetrics.tokens()).as("%s: active tokens", label).isEqualTo(expected.metrics().tokens());
            assertThat(nativeMetrics.clippedHigh() + nativeMetrics.clippedLow() + nativeMetrics.clippedDual())
                    .as("%s: clipped tokens", label)
                    .isEqualTo(expected.metrics().clippedHigh() + expected.metrics().clippedLow()
                            + expected.metrics().clippedDual());
            if (!c.offPolicy()) {
                assertThat(nativeMetrics.driftSum()).as("%s: ratio exactly 1 on-policy", label).isEqualTo(0.0);
            }
            HeadGradients g = expected.gradients();
            NativeHead head = nat.nativeHead();
            if (c.lora()) {
                assertClose(label, "dA", gradient(head, HeadTensor.LORA_A), g.loraA(), 0, GRADIENT_TOLERANCE);
                assertClose(label, "dB", gradient(head, HeadTensor.LORA_B), g.loraB(), 0, GRADIENT_TOLERANCE);
            } else {
                assertClose(label, "dW", gradient(head, HeadTensor.WEIGHT), g.weight(), 0, GRADIENT_TOLERANCE);
            }
            if (c.kl().enabled()) {
                TokenScores frozen = nat.score(hidden, ys, HeadVersion.REFERENCE);
                assertThat(frozen).as("%s: reference head", label).isEqualTo(nativeScores);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void nativeMatchesGoldenVectors(GoldenCase c) {
        HeadShape shape = c.shape();
        try (NativeHead head = NativeHead.create(shape, true, KernelOptions.defaults().withChunkTokens(16))) {
            HeadWeights w = c.weights();
            head.write(HeadTensor.WEIGHT, TensorPart.VALUE, direct(w.weight()));
            if (shape.isLora()) {
                head.write(HeadTensor.LORA_A, TensorPart.VALUE, direct(w.loraA()));
                head.write(HeadTensor.LORA_B, TensorPart.VALUE, direct(w.loraB()));
            }
            int tokens = c.integer("T");
            GrpoLossConfig config = c.config();
            FloatBuffer logp = DirectScratch.newFloats(tokens);
            FloatBuffer entropy = DirectScratch.newFloats(tokens);
            FloatBuffer dh = DirectScratch.newFloats((long) tokens * shape.hiddenSize());
            LossMetrics m = head.train(config, direct(c.array("hidden")), ints(c.array("targets")),
                    direct(c.array("advantages")), direct(c.array("oldLogProbs")),
                    config.kl().enabled() ? direct(c.array("refLogProbs")) : null, direct(c.array("weights")), tokens,
                    logp, entropy, dh);
            String label = c.name();
            assertThat(m.loss()).as("%s: loss", label)
                    .isCloseTo(c.expectedLoss(), org.assertj.core.api.Assertions.within(LOSS_TOLERANCE));
            assertClose(label, "logp", toArray(logp), c.expected("logProbs"), LOG_PROB_TOLERANCE, 0);
            assertClose(label, "entropy", toArray(entropy), c.expected("entropies"), LOSS_TOLERANCE, 0);
            assertClose(label, "dh", toArray(dh), c.expected("gradHidden"), 0, GRADIENT_TOLERANCE);
            if (shape.isLora()) {
                assertClose(label, "dA", gradient(head, HeadTensor.LORA_A), c.expected("gradLoraA"), 0, GRADIENT_TOLERANCE);
                assertClose(label, "dB", gradient(head, HeadTensor.LORA_B), c.expected("gradLoraB"), 0, GRADIENT_TOLERANCE);
            } else {
                assertClose(label, "dW", gradient(head, HeadTensor.WEIGHT), c.expected("gradWeight"), 0, GRADIENT_TOLERANCE);
            }
        }
    }

    static List<GoldenCase> goldenCases() {
        return GoldenCase.load();
    }

    private static boolean isaAvailable(String isa) {
        if (!isa.equals("avx2")) {
            return true;
        }
        try (NativeHead probe = NativeHead.create(HeadShape.full(4, 4), false, new KernelOptions(1, "avx2", 0))) {
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * |actual - expected| within {@code absolute}, or within {@code relative} times the largest |expected|
     * entry; the message names the combination, the quantity, the index and both values.
     */
    static void assertClose(String label, String what, double[] actual, double[] expected, double absolute,
            double relative) {
        assertThat(actual).as("%s: %s length", label, what).hasSize(expected.length);
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        double tolerance = absolute + relative * scale;
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
                throw new AssertionError(String.format("%s: %s[%d] native %.9g vs reference %.9g (tolerance %.3g)",
                        label, what, i, actual[i], expected[i], tolerance));
            }
        }
    }

    static double[] gradient(NativeHead head, HeadTensor tensor) {
        FloatBuffer b = DirectScratch.newFloats(head.elements(tensor));
        head.read(tensor, TensorPart.GRADIENT, b);
        return toArray(b);
    }

    static double[] toArray(FloatBuffer b) {
        double[] out = new double[b.capacity()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }

    static FloatBuffer direct(float[] values) {
        FloatBuffer b = DirectScratch.newFloats(values.length);
        b.put(values).flip();
        return b;
    }

    static FloatBuffer direct(double[] values) {
        FloatBuffer b = DirectScratch.newFloats(values.length);
        for (double v : values) {
            b.put((float) v);
        }
        return b.flip();
    }

    static java.nio.IntBuffer ints(double[] values) {
        java.nio.IntBuffer b = java.nio.ByteBuffer.allocateDirect(4 * values.length)
                .order(java.nio.ByteOrder.nativeOrder()).asIntBuffer();
        for (double v : values) {
            b.put((int) v);
        }
        return b.flip();
    }

    static float[] gaussian(Random rng, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * scale);
        }
        return x;
    }
}
