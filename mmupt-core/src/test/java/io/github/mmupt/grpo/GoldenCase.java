package io.github.mmupt.grpo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.ReferenceHead;
import io.github.mmupt.policy.HiddenStates;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One case of {@code golden/grpo_golden.json}, written by the NumPy script beside it. Public (in the test-jar)
 * so that the native kernel's tests read the same cases.
 */
public record GoldenCase(JsonNode node) {

    public static List<GoldenCase> load() {
        try (InputStream in = GoldenCase.class.getResourceAsStream("/golden/grpo_golden.json")) {
            if (in == null) {
                throw new IllegalStateException("golden/grpo_golden.json is missing from the test resources");
            }
            List<GoldenCase> cases = new ArrayList<>();
            new ObjectMapper().readTree(in).get("cases").forEach(c -> cases.add(new GoldenCase(c)));
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String name() {
        return node.get("name").asText();
    }

    public int integer(String field) {
        return node.get(field).asInt();
    }

    public double number(String field) {
        return node.get(field).asDouble();
    }

    public double[] array(String field) {
        return doubles(node.get(field));
    }

    public double[] expected(String field) {
        return doubles(node.get("expected").get(field));
    }

    public double expectedLoss() {
        return node.get("expected").get("loss").asDouble();
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    public int[] lengths() {
        double[] d = array("lengths");
        int[] out = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = (int) d[i];
        }
        return out;
    }

    public HeadShape shape() {
        int rank = integer("rank");
        return rank == 0 ? HeadShape.full(integer("V"), integer("d"))
                : HeadShape.lora(integer("V"), integer("d"), rank, number("alpha"));
    }

    public ReferenceHead head() {
        HeadShape shape = shape();
        return shape.isLora() ? ReferenceHead.lora(shape, array("weight"), array("loraA"), array("loraB"))
                : ReferenceHead.full(shape, array("weight"));
    }

    public GrpoLossConfig config() {
        JsonNode dual = node.get("dualClip");
        ClipRange clip = new ClipRange(number("clipLow"), number("clipHigh"),
                dual.isNull() ? Double.POSITIVE_INFINITY : dual.asDouble());
        double beta = number("beta");
        KlPenalty kl = new KlPenalty(beta, KlEstimator.valueOf(node.get("estimator").asText()),
                node.get("clamps").asBoolean());
        return GrpoLossConfig.builder().clip(clip).kl(kl)
                .aggregation(LossAggregation.valueOf(node.get("aggregation").asText()))
                .temperature(number("temperature")).normalizerLength(integer("normalizer")).build();
    }

    public LossBatch batch() {
        double[] hidden = array("hidden");
        float[] hiddenFloats = new float[hidden.length];
        for (int i = 0; i < hidden.length; i++) {
            hiddenFloats[i] = (float) hidden[i];
        }
        int t = integer("T");
        double[] targets = array("targets");
        int[] ids = new int[targets.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (int) targets[i];
        }
        return new LossBatch(HiddenStates.of(t, integer("d"), hiddenFloats), ImmutableIntArray.copyOf(ids),
                ImmutableDoubleArray.copyOf(array("advantages")), ImmutableDoubleArray.copyOf(array("oldLogProbs")),
                ImmutableDoubleArray.copyOf(array("refLogProbs")), ImmutableDoubleArray.copyOf(array("weights")));
    }

    /** The head in float32 (the script's values are float32-exact). */
    public HeadWeights weights() {
        HeadShape shape = shape();
        return shape.isLora() ? HeadWeights.lora(shape, floats("weight"), floats("loraA"), floats("loraB"))
                : HeadWeights.full(shape, floats("weight"));
    }

    private float[] floats(String field) {
        double[] d = array(field);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Override
    public String toString() {
        return name();
    }
}
