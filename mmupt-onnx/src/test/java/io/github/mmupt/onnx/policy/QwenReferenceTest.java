package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.ReferenceHeadScorer;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.family.FeedTensor;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The generated Qwen2-VL model run by ONNX Runtime through our runner, against an independent NumPy restatement
 * of the architecture ({@code src/test/scripts/qwen2vl_reference.py}, float64, committed output): vision
 * features, M-RoPE positions, the full pass's hidden states and log-probs, and two cached decode steps, within
 * 1e-4, for a generated Qwen2-VL and a generated Qwen2.5-VL. The test writes each model and its inputs to
 * {@code target/qwen-reference-TYPE/} every run and checks their
 * digest against the one the fixture was made from, so a change to the generator cannot pass unnoticed.
 */
class QwenReferenceTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURES = Path.of("src/test/resources/qwen-reference");
    private static final double TOLERANCE = 1e-4;
    private static final ImmutableIntArray RESPONSE = ImmutableIntArray.of(785, 4226, 374, 220, 18, 13);

    private static Prompt prompt() {
        int side = 64;
        byte[] rgb = new byte[side * side * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) ((i * 7919) >> 3);
        }
        return new Prompt("reference", List.of(RgbImage.of(side, side, rgb)), "What is 2 + 3? Answer in \\boxed{}.");
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2_vl", "qwen2_5_vl"})
    void onnxRuntimeAgreesWithTheNumpyReference(String type) throws Exception {
        Path work = Path.of("target/qwen-reference-" + type);
        Path expectedFile = FIXTURES.resolve("expected-" + type + ".json");
        Path model = work.resolve("model");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults().withModelType(type), 7, QwenTokenizerFiles.qwen2VlFile());
        try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
            Prompt prompt = prompt();
            EncodedPrompt encoded = policy.encode(prompt);
            String digest = writeInputs(work, model, encoded);
            JsonNode expected = JSON.readTree(expectedFile.toFile());
            assertThat(expected.get("inputs_sha256").asText()).as("the fixture was made from other inputs or another "
                    + "generator: regenerate it with /usr/bin/python3 src/test/scripts/qwen2vl_reference.py "
                    + work + " > " + expectedFile + " (from mmupt-onnx, after this test wrote the inputs)").isEqualTo(digest);

            // positions: the family's get_rope_index against the reference's own
            assertThat(encoded.positions().delta()).isEqualTo(expected.get("rope_delta").asLong());
            JsonNode positions = expected.get("positions");
            for (int a = 0; a < 3; a++) {
                for (int i = 0; i < encoded.ids().length(); i++) {
                    assertThat(encoded.positions().at(a, i)).as("axis %d, token %d", a, i)
                            .isEqualTo(positions.get(a).get(i).asLong());
                }
            }
            int d = policy.spec().hiddenSize();
            TrunkSessions sessions = policy.sessions();
            // the vision tower: its rows overwrite the prompt's embeddings at the image pads
            FloatBuffer embeds = sessions.promptEmbeddings(encoded);
            int start = encoded.images().get(0).start();
            JsonNode features = expected.get("image_features");
            double worstFeature = worst(features, embeds, start, d);

            HiddenStates full = policy.responseHiddenStates(List.of(new PromptResponse(prompt, RESPONSE)));
            double worstHidden = worst(expected.get("response_hidden"), full.values(), 0, d);
            double worstLogProb = 0;
            try (ReferenceHeadScorer head = new ReferenceHeadScorer(policy.initialHead().toReference(), 1.0)) {
                TokenScores scores = head.score(full, RESPONSE, HeadVersion.CURRENT);
                for (int t = 0; t < RESPONSE.length(); t++) {
                    worstLogProb = Math.max(worstLogProb, Math.abs(scores.logProbs().get(t)
                            - expected.get("response_log_probs").get(t).asDouble()));
                }
            }
            double worstCached = worst(expected.get("cached_hidden"), cachedSteps(policy, encoded, d), 0, d);
            System.out.printf(type + " tiny vs NumPy (float64): image features %.2e, hidden %.2e, log-probs %.2e, "
                    + "cached decode %.2e (max abs)%n", worstFeature, worstHidden, worstLogProb, worstCached);
            assertThat(worstFeature).isLessThan(TOLERANCE);
            assertThat(worstHidden).isLessThan(TOLERANCE);
            assertThat(worstLogProb).isLessThan(TOLERANCE);
            assertThat(worstCached).isLessThan(TOLERANCE);
        }
    }

    /** Hidden states of the prompt's last position and of response tokens 0 and 1, decoded with the cache. */
    private static FloatBuffer cachedSteps(OnnxPolicy policy, EncodedPrompt prompt, int d) {
        TrunkSessions sessions = policy.sessions();
        ScratchBuffers scratch = new ScratchBuffers();
        int p = prompt.ids().length();
        FloatBuffer out = FloatBuffer.allocate(3 * d);
        FloatBuffer hidden = OnnxPolicy.directFloats((long) p * d);
        KvCache cache;
        try (KvCache empty = KvCache.empty(sessions, 1)) {
            cache = KvCache.of(sessions, sessions.runDecoder(sessions.promptEmbeddings(prompt), 1, p,
                    OnnxPolicy.ones(scratch, "m", p), PositionIds.sequence(scratch, "p", prompt.positions(), p), 3,
                    empty, hidden), p, 1);
        }
        out.put(hidden.duplicate().position((p - 1) * d).limit(p * d));
        FloatBuffer step = OnnxPolicy.directFloats(d);
        for (int j = 0; j < 2; j++) {
            int length = p + j + 1;
            FloatBuffer e = sessions.tokenEmbeddings(ImmutableIntArray.of(RESPONSE.get(j)), 1, 1, "e");
            OrtSession.Result r = sessions.runDecoder(e, 1, 1, OnnxPolicy.ones(scratch, "m", length),
                    PositionIds.step(scratch, "p", prompt.positions(), length - 1, 1), 3, cache, step);
            KvCache next = KvCache.of(sessions, r, length, 1);
            cache.close();
            cache = next;
            out.put(step.duplicate().clear());
        }
        cache.close();
        return out.flip();
    }

    private static double worst(JsonNode rows, FloatBuffer actual, int firstRow, int d) {
        double worst = 0;
        for (int r = 0; r < rows.size(); r++) {
            for (int j = 0; j < d; j++) {
                worst = Math.max(worst, Math.abs(actual.get((firstRow + r) * d + j) - rows.get(r).get(j).asDouble()));
            }
        }
        return worst;
    }

    /** Writes inputs.json beside the model; returns the digest of the model's graphs and these inputs. */
    private static String writeInputs(Path work, Path model, EncodedPrompt encoded) throws Exception {
        FeedTensor pixels = encoded.images().get(0).feed().inputs().get(0);
        FeedTensor grid = encoded.images().get(0).feed().inputs().get(1);
        ObjectNode in = JSON.createObjectNode();
        encoded.ids().forEach(in.putArray("ids")::add);
        RESPONSE.forEach(in.putArray("response")::add);
        for (long g : grid.longs()) {
            in.withArray("grid").add(g);
        }
        in.put("patch_dim", pixels.shape()[1]);
        var values = in.putArray("pixel_values");
        for (float f : pixels.floats()) {
            values.add(f);
        }
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (String f : List.of("vision_encoder.onnx", "embed_tokens.onnx", "decoder_model_merged.onnx",
                "decoder_model_merged.onnx_data")) {
            md.update(Files.readAllBytes(model.resolve("onnx").resolve(f)));
        }
        md.update(JSON.writeValueAsBytes(in));
        String digest = HexFormat.of().formatHex(md.digest());
        in.put("sha256", digest);
        JSON.writeValue(work.resolve("inputs.json").toFile(), in);
        return digest;
    }
}
