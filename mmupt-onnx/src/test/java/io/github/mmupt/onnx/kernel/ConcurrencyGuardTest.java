package io.github.mmupt.onnx.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A second thread on one optimizer is refused with a clear error, never served with corrupted results; a
 * refused close changes nothing (the reference head of the KL term keeps working).
 */
class ConcurrencyGuardTest {

    private static final int V = 4000;
    private static final int D = 128;
    private static final int T = 1024;
    private static final GrpoLossConfig LOSS = GrpoLossConfig.builder().kl(KlPenalty.mmUpt()).temperature(1.0).build();

    private final Random rng = new Random(4);
    private final HeadWeights weights = HeadWeights.full(HeadShape.full(V, D), NativeParityTest.gaussian(rng, V * D, 0.1));
    private final HiddenStates hidden = HiddenStates.of(T, D, NativeParityTest.gaussian(rng, T * D, 1.0));
    private final ImmutableIntArray targets;

    ConcurrencyGuardTest() {
        int[] t = new int[T];
        for (int i = 0; i < T; i++) {
            t[i] = rng.nextInt(V);
        }
        targets = ImmutableIntArray.copyOf(t);
    }

    private LossBatch batch(NativeGrpoOptimizer opt) {
        TokenScores old = opt.score(hidden, targets, HeadVersion.CURRENT);
        double[] adv = new double[T];
        double[] w = new double[T];
        for (int i = 0; i < T; i++) {
            adv[i] = i % 2 == 0 ? 1 : -1;
            w[i] = 1.0 / T;
        }
        return new LossBatch(hidden, targets, ImmutableDoubleArray.copyOf(adv), old.logProbs(), old.logProbs(),
                ImmutableDoubleArray.copyOf(w));
    }

    @Test
    void aSecondCallerIsRefusedAndNoResultIsCorrupted() throws Exception {
        try (NativeGrpoOptimizer opt = new NativeGrpoOptimizer(weights, LOSS, AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            LossBatch batch = batch(opt);
            TokenScores expectedScores = opt.score(hidden, targets, HeadVersion.CURRENT);
            LossMetrics expected = opt.accumulate(batch);
            opt.discardGradient();

            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> trainerErrors = new ArrayList<>();
            List<LossMetrics> trained = new ArrayList<>();
            Thread trainer = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        trained.add(opt.accumulate(batch));
                        opt.discardGradient();
                    } catch (IllegalStateException refused) {
                        // the other thread held it for a moment: fine, try again
                    } catch (Throwable t) {
                        trainerErrors.add(t);
                    }
                }
            }, "trainer");
            trainer.start();
            int refused = 0;
            int served = 0;
            List<String> messages = new ArrayList<>();
            try {
                Thread.sleep(50);
                for (int i = 0; i < 40; i++) {
                    try {
                        TokenScores s = opt.score(hidden, targets, HeadVersion.CURRENT);
                        assertThat(s).isEqualTo(expectedScores);
                        served++;
                    } catch (IllegalStateException e) {
                        refused++;
                        messages.add(e.getMessage());
                    }
                    Thread.sleep(5);
                }
            } finally {
                stop.set(true);
                trainer.join();
            }
            assertThat(trainerErrors).isEmpty();
            assertThat(refused).isPositive();
            assertThat(messages).allSatisfy(m -> assertThat(m).contains("in use by thread 'trainer'")
                    .contains("not thread-safe"));
            assertThat(trained).isNotEmpty().allSatisfy(m -> assertThat(m.loss()).isEqualTo(expected.loss()));
            assertThat(served + refused).isEqualTo(40);
        }
    }

    @Test
    void aCloseRefusedMidCallChangesNothing() throws Exception {
        try (NativeGrpoOptimizer opt = new NativeGrpoOptimizer(weights, LOSS, AdamWConfig.mmUpt(), KernelOptions.defaults())) {
            TokenScores expected = opt.score(hidden, targets, HeadVersion.REFERENCE);
            java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            Thread holder = new Thread(() -> opt.guarded(() -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }), "holder");
            holder.start();
            inside.await();
            try {
                assertThatThrownBy(opt::close).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("in use by thread 'holder'");
                assertThatThrownBy(() -> opt.score(hidden, targets, HeadVersion.CURRENT))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("not thread-safe");
            } finally {
                release.countDown();
                holder.join();
            }
            // the refused close closed neither head: the reference head of the KL term still serves
            assertThat(opt.score(hidden, targets, HeadVersion.REFERENCE)).isEqualTo(expected);
            assertThat(opt.accumulate(batch(opt)).isFinite()).isTrue();
        }
    }

    @Test
    void aNativeHeadServesOneCallerAtATimeAndRefusesCloseMidCall() throws Exception {
        try (NativeHead head = NativeHead.create(HeadShape.full(V, D), false, KernelOptions.defaults())) {
            java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            Thread holder = new Thread(() -> head.run(h -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            holder.start();
            inside.await();
            try {
                assertThatThrownBy(head::step).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("one caller at a time");
                assertThatThrownBy(head::close).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("while a call on this head is running");
            } finally {
                release.countDown();
                holder.join();
            }
            assertThat(head.isOpen()).isTrue();
            assertThat(head.step()).isZero();
        }
    }
}
