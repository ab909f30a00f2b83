package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.adapter.AdapterParameters;
import io.github.mmupt.adapter.AdapterState;
import io.github.mmupt.adapter.TrunkAdapters;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Checks shared by the LoRA tests of both model families. */
public final class AdapterGradientChecks {

    private AdapterGradientChecks() {
    }

    /** The adapters' state with B set to random values, so that A's gradient is not zero. */
    public static AdapterState withRandomB(AdapterParameters p, Random random) {
        Map<String, float[]> t = new LinkedHashMap<>(p.state().tensors());
        for (String name : p.names()) {
            if (name.contains("lora_B")) {
                float[] b = t.get(name).clone();
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (0.2 * random.nextGaussian());
                }
                t.put(name, b);
            }
        }
        return new AdapterState(p.step(), p.kind(), t);
    }

    /**
     * Asserts that one backward call over {@code seqs} (which the trunk may batch) gives the sum of the gradients
     * of one call per sequence, within 1e-5 of the largest entry, for a random dL/dh; the adapters end at
     * {@code at} with the one-at-a-time gradient accumulated.
     */
    public static void assertBatchedEqualsOneAtATime(TrunkAdapters adapters, AdapterState at, List<PromptResponse> seqs,
            HiddenStates h, Random random) {
        AdapterParameters p = adapters.parameters();
        float[] c = new float[h.tokens() * h.hiddenSize()];
        for (int i = 0; i < c.length; i++) {
            c[i] = (float) random.nextGaussian();
        }
        p.restore(at);
        adapters.backward(seqs, HiddenStates.of(h.tokens(), h.hiddenSize(), c));
        List<double[]> together = new ArrayList<>();
        for (int k = 0; k < p.size(); k++) {
            together.add(p.gradient(k));
        }
        p.restore(at);
        int row = 0;
        for (PromptResponse pr : seqs) {
            int n = pr.responseTokens().length();
            adapters.backward(List.of(pr), HiddenStates.of(n, h.hiddenSize(),
                    Arrays.copyOfRange(c, row * h.hiddenSize(), (row + n) * h.hiddenSize())));
            row += n;
        }
        double scale = 0;
        double worst = 0;
        for (int k = 0; k < p.size(); k++) {
            double[] one = p.gradient(k);
            for (int i = 0; i < one.length; i++) {
                scale = Math.max(scale, Math.abs(one[i]));
                worst = Math.max(worst, Math.abs(one[i] - together.get(k)[i]));
            }
        }
        assertThat(scale).isGreaterThan(0);
        assertThat(worst / scale).as("batched vs one at a time, relative to the largest entry").isLessThan(1e-5);
    }
}
