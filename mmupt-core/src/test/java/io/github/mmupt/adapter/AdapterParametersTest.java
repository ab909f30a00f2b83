package io.github.mmupt.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.github.mmupt.grpo.AdamW;
import io.github.mmupt.grpo.AdamWConfig;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class AdapterParametersTest {

    private static final AdamWConfig ADAMW = AdamWConfig.builder().learningRate(1e-2).weightDecay(0.1).build();

    private static Map<String, float[]> tensors(SplittableRandom r, int a, int b) {
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("q.lora_A.weight", random(r, a));
        t.put("q.lora_B.weight", random(r, b));
        return t;
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        return v;
    }

    /** Steps of the reference AdamW in double, with the gradient scaled first, match to float precision. */
    @Property(tries = 30)
    void updatesAreTheReferenceAdamWOnTheScaledGradient(@ForAll @IntRange(min = 1, max = 9) int n,
            @ForAll @DoubleRange(min = 0.01, max = 1.0) double clipScale, @ForAll @DoubleRange(min = 0.5, max = 20) double lrScale,
            @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, float[]> init = tensors(r, n, n + 1);
        AdapterParameters p = new AdapterParameters(init, lrScale, "test adapters");
        AdamWConfig scaled = AdamWConfig.builder().learningRate(ADAMW.learningRate() * lrScale).weightDecay(0.1).build();
        double[][] params = new double[2][];
        double[][] m = new double[2][];
        double[][] v = new double[2][];
        int k = 0;
        for (float[] t : init.values()) {
            params[k] = new double[t.length];
            for (int i = 0; i < t.length; i++) {
                params[k][i] = t[i];
            }
            m[k] = new double[t.length];
            v[k] = new double[t.length];
            k++;
        }
        for (int step = 1; step <= 3; step++) {
            for (int t = 0; t < 2; t++) {
                float[] g = random(r, params[t].length);
                p.addGradient(t, FloatBuffer.wrap(g));
                double[] gd = new double[g.length];
                for (int i = 0; i < g.length; i++) {
                    gd[i] = g[i] * clipScale;
                }
                AdamW.step(params[t], gd, m[t], v[t], step, scaled);
            }
            assertThat(p.update(ADAMW, clipScale)).isTrue();
            assertThat(p.gradientSumOfSquares()).as("cleared by the update").isZero();
        }
        for (int t = 0; t < 2; t++) {
            float[] got = p.values(t);
            for (int i = 0; i < got.length; i++) {
                assertThat((double) got[i]).isCloseTo(params[t][i], within(1e-5));
            }
        }
        assertThat(p.step()).isEqualTo(3);
    }

    @Test
    void aStepThatWouldWriteANonFiniteValueChangesNothing() {
        AdapterParameters p = new AdapterParameters(tensors(new SplittableRandom(1), 2, 2));
        AdapterState before = p.state();
        p.addGradient(0, FloatBuffer.wrap(new float[] {Float.MAX_VALUE, 1}));
        p.addGradient(0, FloatBuffer.wrap(new float[] {Float.MAX_VALUE, 1}));
        // finite in double, but its second moment (1 - beta2) g^2 is beyond float32's range
        assertThat(p.gradientSumOfSquares()).isFinite();
        assertThat(p.update(ADAMW, 1.0)).isFalse();
        assertThat(p.state()).isEqualTo(before);
        assertThat(p.gradientSumOfSquares()).isZero();
    }

    @Test
    void restoreRefusesAnotherAdaptersStateBeforeChangingAnything() {
        AdapterParameters p = new AdapterParameters(tensors(new SplittableRandom(1), 2, 3));
        AdapterState mine = p.state();
        AdapterParameters other = new AdapterParameters(tensors(new SplittableRandom(1), 4, 3));
        assertThatThrownBy(() -> p.restore(other.state())).hasMessageContaining("q.lora_A.weight has 4 values")
                .hasMessageContaining("another rank or model");
        Map<String, float[]> renamed = new LinkedHashMap<>();
        mine.tensors().forEach((k, v) -> renamed.put(k.replace("q.", "k."), v));
        assertThatThrownBy(() -> p.restore(new AdapterState(0, mine.kind(), renamed))).hasMessageContaining("lacks q.lora_A.weight");
        Map<String, float[]> poisoned = new LinkedHashMap<>(mine.tensors());
        poisoned.put("adam_v.q.lora_B.weight", new float[] {0, Float.NaN, 0});
        assertThatThrownBy(() -> p.restore(new AdapterState(0, mine.kind(), poisoned))).hasMessageContaining("[1] is NaN");
        assertThatThrownBy(() -> p.restore(new AdapterState(0, "LoRA rank 2, alpha 8.0", mine.tensors())))
                .hasMessageContaining("is of LoRA rank 2, alpha 8.0").hasMessageContaining("these adapters are adapters");
        assertThat(p.state()).isEqualTo(mine);
        assertThatThrownBy(() -> p.addGradient(0, FloatBuffer.wrap(new float[3]))).hasMessageContaining("has 3 values");
        assertThatThrownBy(() -> p.update(ADAMW, 0)).hasMessageContaining("(0, 1]");
    }
}
