package io.github.mmupt.onnx.kernel;

import static io.github.mmupt.onnx.kernel.NativeParityTest.direct;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.grpo.UpdateResult;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NativeHeadTest {

    private static final int V = 50;
    private static final int D = 8;
    private static final HeadShape SHAPE = HeadShape.full(V, D);
    private final Random rng = new Random(3);
    private final HeadWeights weights = HeadWeights.full(SHAPE, NativeParityTest.gaussian(rng, V * D, 0.5));

    @Test
    void closeIsIdempotentAndLaterCallsFail() {
        NativeHead head = NativeHead.create(SHAPE, true, KernelOptions.defaults());
        assertThat(head.isOpen()).isTrue();
        head.close();
        head.close();
        assertThat(head.isOpen()).isFalse();
        assertThatThrownBy(head::step).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> head.write(HeadTensor.WEIGHT, TensorPart.VALUE, direct(weights.weight())))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void buffersAreCheckedBeforeTheNativeCall() {
        try (NativeHead head = NativeHead.create(SHAPE, true, KernelOptions.defaults())) {
            assertThatThrownBy(() -> head.write(HeadTensor.WEIGHT, TensorPart.VALUE, FloatBuffer.wrap(weights.weight())))
                    .hasMessageContaining("values must be a direct buffer");
            assertThatThrownBy(() -> head.write(HeadTensor.WEIGHT, TensorPart.VALUE, DirectScratch.newFloats(V * D - 1)))
                    .hasMessageContaining("values has 399 floats remaining, 400 needed");
            FloatBuffer bigEndian = ByteBuffer.allocateDirect(4 * V * D).order(
                    ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN)
                    .asFloatBuffer();
            assertThatThrownBy(() -> head.write(HeadTensor.WEIGHT, TensorPart.VALUE, bigEndian))
                    .hasMessageContaining("native byte order");
            assertThatThrownBy(() -> head.write(HeadTensor.LORA_A, TensorPart.VALUE, DirectScratch.newFloats(1)))
                    .hasMessageContaining("no LoRA tensors");
            float[] withNan = weights.weight();
            withNan[17] = Float.NaN;
            assertThatThrownBy(() -> head.write(HeadTensor.WEIGHT, TensorPart.VALUE, direct(withNan)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 1] is nan");
        }
    }

    @Test
    void nonFiniteInputsAreClearErrorsThatNameTheElement() {
        try (GrpoOptimizer opt = new NativeGrpoOptimizer(weights, GrpoLossConfig.builder().kl(KlPenalty.none()).build(),
                AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            float[] h = NativeParityTest.gaussian(rng, 3 * D, 1.0);
            h[D + 2] = Float.POSITIVE_INFINITY;
            HiddenStates bad = HiddenStates.of(3, D, h);
            // the optimizer marks the row (NaN) so the loop can skip the update it would poison...
            TokenScores marked = opt.score(bad, ImmutableIntArray.of(1, 2, 3), HeadVersion.CURRENT);
            assertThat(marked.logProbs().get(1)).isNaN();
            assertThat(marked.entropies().get(1)).isNaN();
            assertThat(marked.logProbs().get(0)).isFinite();
            assertThat(marked.logProbs().get(2)).isFinite();
            assertThat(h[D + 2]).as("the caller's buffer is left as it was").isInfinite();
            // ...while the kernel itself refuses it, naming the element
            try (NativeHead raw = NativeHead.create(SHAPE, false, KernelOptions.defaults())) {
                raw.write(HeadTensor.WEIGHT, TensorPart.VALUE, direct(weights.weight()));
                IntBuffer ys = ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder()).asIntBuffer().put(new int[] {1, 2, 3});
                ys.flip();
                assertThatThrownBy(() -> raw.score(direct(h), ys, 3, 1.0, DirectScratch.newFloats(3), null))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hidden[1, 2] is inf");
            }
            assertThatThrownBy(() -> opt.score(HiddenStates.of(1, D, new float[D]), ImmutableIntArray.of(V),
                    HeadVersion.CURRENT)).hasMessageContaining("target 0 is token 50, outside the vocabulary [0, 50)");
        }
    }

    @Test
    void overflowingLogitsSkipTheUpdateAndSayWhy() {
        float[] huge = new float[V * D];
        java.util.Arrays.fill(huge, 1e30f);
        try (NativeGrpoOptimizer opt = new NativeGrpoOptimizer(HeadWeights.full(SHAPE, huge),
                GrpoLossConfig.builder().kl(KlPenalty.none()).build(), AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            float[] h = new float[2 * D];
            java.util.Arrays.fill(h, 1e10f);
            LossBatch batch = new LossBatch(HiddenStates.of(2, D, h), ImmutableIntArray.of(1, 2),
                    ImmutableDoubleArray.of(1, -1), ImmutableDoubleArray.of(-1, -1), ImmutableDoubleArray.of(),
                    ImmutableDoubleArray.of(0.5, 0.5));
            LossMetrics m = opt.accumulate(batch);
            assertThat(m.isFinite()).isFalse();
            UpdateResult u = opt.update();
            assertThat(u.skipped()).isTrue();
            assertThat(u.step()).isZero();
            assertThat(opt.weights()).isEqualTo(HeadWeights.full(SHAPE, huge));
        }
    }

    @Test
    void ratioIsExactlyOneAtTheFirstIterationAndTrainingMatchesTheReference() {
        GrpoLossConfig config = GrpoLossConfig.builder().temperature(0.7).build();
        AdamWConfig adamW = AdamWConfig.builder().learningRate(0.01).build();
        int tokens = 21;
        HiddenStates hidden = HiddenStates.of(tokens, D, NativeParityTest.gaussian(rng, tokens * D, 1.0));
        int[] y = new int[tokens];
        double[] adv = new double[tokens];
        for (int t = 0; t < tokens; t++) {
            y[t] = rng.nextInt(V);
            adv[t] = t < 10 ? 1.0 : -0.5;
        }
        ImmutableIntArray targets = ImmutableIntArray.copyOf(y);
        ImmutableDoubleArray weightsPerToken = ImmutableDoubleArray.copyOf(config.tokenWeights(new int[] {10, 11}));
        try (NativeGrpoOptimizer nat = new NativeGrpoOptimizer(weights, config, adamW, KernelOptions.defaults());
                ReferenceGrpoOptimizer ref = new ReferenceGrpoOptimizer(weights.toReference(), config, adamW)) {
            for (int step = 0; step < 3; step++) {
                TokenScores old = nat.score(hidden, targets, HeadVersion.CURRENT);
                TokenScores refScores = nat.score(hidden, targets, HeadVersion.REFERENCE);
                LossBatch batch = new LossBatch(hidden, targets, ImmutableDoubleArray.copyOf(adv), old.logProbs(),
                        refScores.logProbs(), weightsPerToken);
                LossMetrics m = nat.accumulate(batch);
                assertThat(m.driftSum()).as("step %d: ratio exactly 1", step).isEqualTo(0.0);
                assertThat(m.clippedHigh() + m.clippedLow() + m.clippedDual()).isZero();
                ref.accumulate(batch);
                UpdateResult a = nat.update();
                UpdateResult b = ref.update();
                assertThat(a.step()).isEqualTo(b.step());
                assertThat(a.gradNorm()).isCloseTo(b.gradNorm(), org.assertj.core.api.Assertions.within(1e-4 * b.gradNorm()));
            }
            float[] trained = nat.weights().weight();
            double[] expected = ref.head().weight();
            for (int i = 0; i < trained.length; i++) {
                assertThat((double) trained[i]).as("weight %d after three AdamW steps", i)
                        .isCloseTo(expected[i], org.assertj.core.api.Assertions.within(2e-5));
            }
            assertThat(nat.weights()).isNotEqualTo(weights);
        }
    }

    /**
     * The automatic chunk keeps train mode's scratch within 10% of a naive [T x V] logits buffer; below T = 160
     * its 16-token floor makes it 16 / T (16% at T = 100), as KernelOptions documents.
     */
    @ParameterizedTest(name = "T = {0}: at most {1} of the naive logits")
    @CsvSource({"512, 0.10", "100, 0.17"})
    void workspaceStaysWithinTheDocumentedShareOfTheNaiveLogits(int tokens, double share) {
        int vocab = 20000;
        int d = 64;
        HeadShape shape = HeadShape.full(vocab, d);
        try (NativeHead head = NativeHead.create(shape, true, KernelOptions.defaults())) {
            head.write(HeadTensor.WEIGHT, TensorPart.VALUE, direct(NativeParityTest.gaussian(rng, vocab * d, 0.1)));
            FloatBuffer hidden = direct(NativeParityTest.gaussian(rng, tokens * d, 1.0));
            IntBuffer targets = ByteBuffer.allocateDirect(4 * tokens).order(ByteOrder.nativeOrder()).asIntBuffer();
            FloatBuffer perToken = DirectScratch.newFloats(tokens);
            for (int t = 0; t < tokens; t++) {
                targets.put(t, t % vocab);
                perToken.put(t, 1f / tokens);
            }
            head.train(GrpoLossConfig.builder().kl(KlPenalty.none()).build(), hidden, targets, perToken, perToken,
                    null, perToken, tokens, null, null, DirectScratch.newFloats((long) tokens * d));
            long naive = 4L * tokens * vocab;
            assertThat(head.lastWorkspaceBytes()).isPositive().isLessThanOrEqualTo((long) (share * naive));
        }
    }

    @Test
    void frozenHeadsOnlyScore() {
        try (NativeHead head = NativeHead.create(SHAPE, false, KernelOptions.defaults())) {
            assertThatThrownBy(() -> head.update(AdamWConfig.mmUpt())).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("frozen");
            assertThatThrownBy(() -> head.read(HeadTensor.WEIGHT, TensorPart.GRADIENT, DirectScratch.newFloats(V * D)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("frozen head has no gradient");
        }
    }

    @Test
    void referenceHeadExistsOnlyWithTheKlTerm() {
        try (GrpoOptimizer opt = new NativeGrpoOptimizer(weights, GrpoLossConfig.builder().kl(KlPenalty.none()).build(),
                AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            assertThatThrownBy(() -> opt.score(HiddenStates.of(1, D, new float[D]), ImmutableIntArray.of(0),
                    HeadVersion.REFERENCE)).isInstanceOf(IllegalStateException.class).hasMessageContaining("beta = 0");
        }
    }

    @Test
    void theFactoryFallsBackWithAWarningOrRefusesWhenNativeIsRequired() {
        Runnable missing = () -> {
            throw new UnsatisfiedLinkError("no kernel here");
        };
        GrpoLossConfig config = GrpoLossConfig.mmUpt();
        try (GrpoOptimizer fallback = HeadOptimizers.create(weights, config, AdamWConfig.mmUpt(), KernelOptions.defaults(),
                false, missing)) {
            assertThat(fallback).isInstanceOf(ReferenceGrpoOptimizer.class);
        }
        assertThatThrownBy(() -> HeadOptimizers.create(weights, config, AdamWConfig.mmUpt(), KernelOptions.defaults(),
                true, missing)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(HeadOptimizers.REQUIRE_NATIVE).hasMessageContaining("no kernel here");
        try (GrpoOptimizer opt = HeadOptimizers.create(weights, config, AdamWConfig.mmUpt(), KernelOptions.defaults(),
                true)) {
            assertThat(opt).isInstanceOf(NativeGrpoOptimizer.class);
        }
    }

    @Test
    void theLoaderNamesWhereItLooked() throws Exception {
        assertThat(NativeLibrary.resourcePath()).isEqualTo(
                "io/github/mmupt/onnx/kernel/native/" + NativeLibrary.platform() + "/libmmupt_kernel.so");
        assertThat(NativeLibrary.isAvailable()).isTrue();
        assertThat(NativeLibrary.locate(null)).exists(); // the packaged copy, extracted
        assertThatThrownBy(() -> NativeLibrary.locate("/nonexistent/libmmupt_kernel.so"))
                .hasMessageContaining("/nonexistent/libmmupt_kernel.so").hasMessageContaining(NativeLibrary.PATH_PROPERTY);
        // one library per OS and architecture, named as that OS names libraries
        assertThat(NativeLibrary.platform("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(NativeLibrary.platform("Linux", "aarch64")).isEqualTo("linux-aarch64");
        assertThat(NativeLibrary.platform("Mac OS X", "arm64")).isEqualTo("macos-aarch64");
        assertThat(NativeLibrary.libraryFile("linux-aarch64")).isEqualTo("libmmupt_kernel.so");
        assertThat(NativeLibrary.libraryFile("macos-aarch64")).isEqualTo("libmmupt_kernel.dylib");
        assertThat(NativeLibrary.libraryFile("windows-x86_64")).isEqualTo("mmupt_kernel.dll");
        assertThat(NativeLibrary.packagedPlatforms()).contains(NativeLibrary.platform());
        UnsatisfiedLinkError error = NativeLibrary.failure(new java.io.IOException("boom"));
        assertThat(error).hasMessageContaining("boom").hasMessageContaining(NativeLibrary.PATH_PROPERTY)
                .hasMessageContaining(NativeLibrary.resourcePath());
    }
    @Test
    void rowsMoveInPiecesAndOutOfRangeRowsAreRefused() {
        try (NativeHead head = NativeHead.create(SHAPE, true, KernelOptions.defaults())) {
            float[] w = weights.weight();
            for (int row = 0; row < V; row += 7) {
                int rows = Math.min(7, V - row);
                head.writeRows(HeadTensor.WEIGHT, TensorPart.VALUE, row, rows,
                        direct(java.util.Arrays.copyOfRange(w, row * D, (row + rows) * D)));
            }
            FloatBuffer whole = DirectScratch.newFloats(V * D);
            head.read(HeadTensor.WEIGHT, TensorPart.VALUE, whole);
            float[] back = new float[V * D];
            whole.get(back);
            assertThat(back).containsExactly(w);
            FloatBuffer three = DirectScratch.newFloats(3 * D);
            head.readRows(HeadTensor.WEIGHT, TensorPart.VALUE, 47, 3, three);
            assertThat(three.get(0)).isEqualTo(w[47 * D]);
            assertThatThrownBy(() -> head.readRows(HeadTensor.WEIGHT, TensorPart.VALUE, 48, 3, three))
                    .hasMessageContaining("rows [48, 51) are outside the WEIGHT tensor's 50 rows");
            assertThatThrownBy(() -> head.writeRows(HeadTensor.WEIGHT, TensorPart.VALUE, 0, 4, three))
                    .hasMessageContaining("values has 24 floats remaining, 32 needed");
            assertThat(head.ownedBytes()).isEqualTo(NativeHead.bytesNeeded(SHAPE, true, KernelOptions.defaults()));
        }
    }

    @Test
    void aHeadOverTheMemoryLimitIsRefusedBeforeAnythingIsAllocated() {
        // Qwen2.5-VL-7B's head trained with AdamW: 152,064 rows, four times; 3,584 floats are 224 cache lines, an
        // even number, so each row is stored 3,600 floats apart
        HeadShape qwen7b = HeadShape.full(152_064, 3_584);
        long needed = NativeHead.bytesNeeded(qwen7b, true, KernelOptions.defaults());
        assertThat(needed).isEqualTo(4L * 152_064 * 3_600 * 4);
        assertThatThrownBy(() -> NativeHead.create(qwen7b, true, KernelOptions.defaults().withMemoryLimit(1L << 30)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("a trainable head [V=152064 x d=3584] needs 8.16 GiB of native memory")
                .hasMessageContaining("more than the 1.00 GiB KernelOptions.memoryLimitBytes allows");
        HeadWeights small = HeadWeights.full(SHAPE, new float[V * D]);
        GrpoLossConfig withKl = GrpoLossConfig.mmUpt(); // its KL term keeps a frozen reference head
        long both = NativeHead.bytesNeeded(SHAPE, true, KernelOptions.defaults())
                + NativeHead.bytesNeeded(SHAPE, false, KernelOptions.defaults());
        assertThatThrownBy(() -> new NativeGrpoOptimizer(small, withKl, AdamWConfig.mmUpt(),
                KernelOptions.defaults().withMemoryLimit(both - 1)))
                .hasMessageContaining("with its frozen KL reference");
        new NativeGrpoOptimizer(small, withKl, AdamWConfig.mmUpt(), KernelOptions.defaults().withMemoryLimit(both)).close();
    }
}
