package io.github.mmupt.onnx.kernel;

import static io.github.mmupt.onnx.kernel.NativeParityTest.gaussian;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.LossMetrics;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.policy.HiddenStates;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scores, loss, gradients and the weights after two updates are bit-identical on 1, 2 and 3 threads, for a
 * full head and a LoRA head over a vocabulary of many partitions: a checkpoint resumes bit for bit on a machine
 * with another number of cores.
 */
class ThreadCountIndependenceTest {

    @BeforeAll
    static void nativeLibraryLoads() {
        NativeLibrary.load();
    }

    @ParameterizedTest(name = "isa {0}")
    @ValueSource(strings = {"default", "avx512bf16"})
    void everyResultIsTheSameOnOneTwoAndThreeThreads(String isa) {
        KernelOptions base = isa.equals("default") ? KernelOptions.defaults() : KernelOptions.defaults().withIsa(isa);
        if (isa.equals("avx512bf16")) {
            Assumptions.assumeTrue(Bf16PathTest.bf16Available(), "this CPU lacks AVX512-BF16");
        }
        for (boolean lora : new boolean[] {false, true}) {
            List<Object> one = run(base.withThreads(1), lora);
            for (int threads : new int[] {2, 3}) {
                List<Object> many = run(base.withThreads(threads), lora);
                for (int i = 0; i < one.size(); i++) {
                    assertThat(many.get(i)).as("isa %s, lora %s, %d threads vs 1: output %d", isa, lora, threads, i)
                            .isEqualTo(one.get(i));
                }
            }
        }
    }

    /** Log-probs, entropies, loss metrics and the weights after each of two steps. */
    private static List<Object> run(KernelOptions options, boolean lora) {
        Random rng = new Random(99);
        int vocab = 6007;
        int d = 48;
        int tokens = 70; // five chunks of 16: the chunk pipeline's overlap is exercised too
        HeadShape shape = lora ? HeadShape.lora(vocab, d, 4, 8.0) : HeadShape.full(vocab, d);
        HeadWeights weights = lora
                ? HeadWeights.lora(shape, gaussian(rng, vocab * d, 0.3), gaussian(rng, 4 * d, 0.3), gaussian(rng, vocab * 4, 0.3))
                : HeadWeights.full(shape, gaussian(rng, vocab * d, 0.3));
        HiddenStates hidden = HiddenStates.of(tokens, d, gaussian(rng, tokens * d, 1.0));
        int[] y = new int[tokens];
        double[] adv = new double[tokens];
        for (int t = 0; t < tokens; t++) {
            y[t] = rng.nextInt(vocab);
            adv[t] = rng.nextGaussian();
        }
        ImmutableIntArray targets = ImmutableIntArray.copyOf(y);
        GrpoLossConfig config = GrpoLossConfig.builder().kl(KlPenalty.mmUpt()).temperature(0.8).build();
        AdamWConfig adamW = AdamWConfig.mmUpt().toBuilder().learningRate(1e-3).build();
        List<Object> out = new ArrayList<>();
        try (NativeGrpoOptimizer opt = new NativeGrpoOptimizer(weights, config, adamW, options.withChunkTokens(16))) {
            TokenScores reference = opt.score(hidden, targets, HeadVersion.REFERENCE);
            for (int step = 0; step < 2; step++) {
                TokenScores old = opt.score(hidden, targets, HeadVersion.CURRENT);
                out.add(old);
                LossMetrics m = opt.accumulate(new LossBatch(hidden, targets, ImmutableDoubleArray.copyOf(adv), old.logProbs(),
                        reference.logProbs(), ImmutableDoubleArray.copyOf(config.tokenWeights(new int[] {30, 40}))));
                out.add(m);
                out.add(opt.update());
                out.add(opt.weights());
            }
        }
        return out;
    }
}
