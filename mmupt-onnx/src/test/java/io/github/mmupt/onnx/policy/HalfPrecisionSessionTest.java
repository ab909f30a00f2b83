package io.github.mmupt.onnx.policy;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.common.primitives.ImmutableIntArray;
import com.google.protobuf.ByteString;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.model.Float16;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.qwen.OnnxVariant;
import io.github.mmupt.onnx.qwen.QwenFamily;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.rollout.RolloutGroup;
import io.github.mmupt.rollout.SamplingParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fp16 sessions on the generated Qwen2-VL-contract model: its {@code _fp16} variant declares every float tensor
 * at the graphs' boundaries float16 (pixel values, image features, embeddings, the KV cache, the logits) and has a
 * float16 LM head reading a float16 hidden state, as fp16 exports do; inside, the test's rewrite casts to the
 * float32 weights, so the variant computes the fp32 model's function up to float16 rounding at the boundaries.
 * Hidden states and log-probs match the fp32 model within that rounding; batched decoding (stacked, padded and
 * compacted float16 caches) gives what one prompt at a time gives; the export keeps the graph's float16 outputs
 * around a float32 trained head and reopens with that head exactly.
 */
class HalfPrecisionSessionTest {

    private static final GrpoLossConfig LOSS = GrpoLossConfig.builder().temperature(1.0).build();

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeModels() throws Exception {
        model = dir.resolve("qwen");
        QwenTinyBuilder.write(model, QwenTinyConfig.defaults(), 3, QwenTokenizerFiles.qwen2VlFile());
        Path onnx = model.resolve("onnx");
        half(onnx.resolve("vision_encoder.onnx"), Set.of("pixel_values"), Set.of("image_features"), false)
                .write(onnx.resolve("vision_encoder_fp16.onnx"));
        half(onnx.resolve("embed_tokens.onnx"), Set.of(), Set.of("inputs_embeds"), false)
                .write(onnx.resolve("embed_tokens_fp16.onnx"));
        OnnxModel decoder = OnnxModel.read(onnx.resolve("decoder_model_merged.onnx"));
        Set<String> in = new java.util.HashSet<>(Set.of("inputs_embeds"));
        Set<String> out = new java.util.HashSet<>();
        for (var i : decoder.inputs()) {
            if (i.name().startsWith("past_key_values.")) {
                in.add(i.name());
            }
        }
        for (var o : decoder.outputs()) {
            if (o.name().startsWith("present.")) {
                out.add(o.name());
            }
        }
        half(onnx.resolve("decoder_model_merged.onnx"), in, out, true)
                .write(onnx.resolve("decoder_model_merged_fp16.onnx"), "decoder_model_merged_fp16.onnx_data");
    }

    private static OnnxPolicy open(OnnxVariant variant) throws Exception {
        return OnnxPolicy.open(QwenFamily.open(model, variant), PolicyOptions.defaults());
    }

    @Test
    void hiddenStatesAndLogProbsMatchTheFp32ModelWithinFloat16Rounding() throws Exception {
        List<Prompt> prompts = prompts();
        ImmutableIntArray response = ImmutableIntArray.of(151644, 872, 198, 3838, 374, 220, 17, 30);
        try (OnnxPolicy fp32 = open(OnnxVariant.FP32); OnnxPolicy fp16 = open(OnnxVariant.FP16)) {
            assertThat(fp32.sessions().kvElementBytes()).isEqualTo(4);
            assertThat(fp16.sessions().kvElementBytes()).as("the fp16 cache is kept as float16").isEqualTo(2);
            assertThat(fp16.sessions().anyHalf()).isTrue();
            assertThat(fp16.spec().modelId()).isNotEqualTo(fp32.spec().modelId());
            List<PromptResponse> seqs = prompts.stream().map(p -> new PromptResponse(p, response)).toList();
            HiddenStates a = fp32.responseHiddenStates(seqs);
            HiddenStates b = fp16.responseHiddenStates(seqs);
            double worst = 0;
            double scale = 0;
            for (int i = 0; i < a.values().limit(); i++) {
                worst = Math.max(worst, Math.abs(a.values().get(i) - b.values().get(i)));
                scale = Math.max(scale, Math.abs(a.values().get(i)));
            }
            // float16 keeps 11 bits: the boundaries round to 2^-11 relative, compounded over two layers
            assertThat(worst / scale).as("hidden states, relative to their largest").isLessThan(1e-2).isPositive();
            // the fp16 head is the fp32 one rounded to float16, read back exactly
            float[] w32 = fp32.initialHead().weight();
            float[] w16 = fp16.initialHead().weight();
            for (int i = 0; i < w32.length; i += 997) {
                assertThat(w16[i]).isEqualTo(Float16.toFloat(Float16.fromFloat(w32[i])));
            }
            ImmutableIntArray targets = ImmutableIntArray.copyOf(java.util.stream.IntStream.range(0, a.tokens())
                    .map(t -> response.get(t % response.length())).toArray());
            try (GrpoOptimizer h32 = new NativeGrpoOptimizer(fp32.initialHead(), LOSS, AdamWConfig.mmUpt(),
                    KernelOptions.defaults());
                    GrpoOptimizer h16 = new NativeGrpoOptimizer(fp16.initialHead(), LOSS, AdamWConfig.mmUpt(),
                            KernelOptions.defaults())) {
                var s32 = h32.score(a, targets, HeadVersion.CURRENT).logProbs();
                var s16 = h16.score(b, targets, HeadVersion.CURRENT).logProbs();
                double logProbWorst = 0;
                for (int t = 0; t < s32.length(); t++) {
                    logProbWorst = Math.max(logProbWorst, Math.abs(s32.get(t) - s16.get(t)));
                }
                assertThat(logProbWorst).as("log-probs").isLessThan(0.05);
                System.out.println("fp16 sessions: hidden states max relative difference " + worst / scale
                        + ", log-probs max difference " + logProbWorst);
            }
        }
    }

    @Test
    void batchedDecodingOfFloat16CachesMatchesOnePromptAtATime() throws Exception {
        // stop tokens for 40% of the vocabulary: rows finish at many lengths, so the batch is compacted too
        SamplingParams params = SamplingParams.builder().responsesPerPrompt(4).temperature(1.0).topP(1.0)
                .maxNewTokens(10).stopTokenIds(ImmutableIntArray.copyOf(java.util.stream.IntStream.range(0, 60_000)
                        .toArray())).build();
        try (OnnxPolicy fp16 = open(OnnxVariant.FP16);
                GrpoOptimizer head = new NativeGrpoOptimizer(fp16.initialHead(), LOSS, AdamWConfig.mmUpt(),
                        KernelOptions.defaults())) {
            KvCacheSampler sampler = new KvCacheSampler(fp16, head, AnswerExtractor.boxed());
            List<RolloutGroup> alone = sampler.withPromptsPerBatch(1).sample(prompts(), params, 4);
            List<RolloutGroup> together = sampler.sample(prompts(), params, 4);
            double worst = 0;
            long early = 0;
            for (int g = 0; g < alone.size(); g++) {
                for (int r = 0; r < params.responsesPerPrompt(); r++) {
                    var a = alone.get(g).rollouts().get(r);
                    var b = together.get(g).rollouts().get(r);
                    assertThat(b.tokenIds()).as("group %d response %d", g, r).isEqualTo(a.tokenIds());
                    for (int t = 0; t < a.logProbs().length(); t++) {
                        worst = Math.max(worst, Math.abs(a.logProbs().get(t) - b.logProbs().get(t)));
                    }
                    early += b.length() < params.maxNewTokens() ? 1 : 0;
                }
            }
            assertThat(early).as("rows that finished early, so the batch was compacted").isPositive();
            // float16 attention over zero-padded rows: the padding is masked, the values agree to float16 rounding
            assertThat(worst).isLessThanOrEqualTo(1e-2);
            System.out.println("fp16 sessions: batched vs one prompt at a time, " + early + " rows finished early, max "
                    + "|log-prob difference| " + worst);
        }
    }

    @Test
    void theExportKeepsFloat16OutputsAroundAFloat32TrainedHead() throws Exception {
        Path exported = dir.resolve("exported");
        HeadWeights trained;
        try (OnnxPolicy fp16 = open(OnnxVariant.FP16)) {
            float[] w = fp16.initialHead().weight();
            for (int i = 0; i < w.length; i += 5) {
                w[i] += 1e-4f * (i % 7); // not representable in float16: the export must keep float32
            }
            trained = HeadWeights.full(fp16.initialHead().shape(), w);
            fp16.exportModel(exported, trained);
        }
        Path decoder = exported.resolve("onnx/decoder_model_merged_fp16.onnx");
        OnnxModel written = OnnxModel.read(decoder);
        assertThat(written.output("logits").orElseThrow().elementType()).isEqualTo("FLOAT16");
        assertThat(written.input("inputs_embeds").orElseThrow().elementType()).isEqualTo("FLOAT16");
        try (OnnxPolicy reopened = OnnxPolicy.open(QwenFamily.open(exported, OnnxVariant.FP16), PolicyOptions.defaults())) {
            assertThat(reopened.initialHead()).as("the float32 head, exactly").isEqualTo(trained);
        }
        // plain ONNX Runtime runs the file: float16 in, float16 logits out
        QwenTinyConfig c = QwenTinyConfig.defaults();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OrtSession s = env.createSession(decoder.toString(), new OrtSession.SessionOptions())) {
            ByteBuffer embeds = ByteBuffer.allocateDirect(2 * c.hiddenSize()).order(ByteOrder.nativeOrder());
            embeds.asShortBuffer().put(3, Float16.fromFloat(1f));
            in.put("inputs_embeds", OnnxTensor.createTensor(env, embeds, new long[] {1, 1, c.hiddenSize()},
                    ai.onnxruntime.OnnxJavaType.FLOAT16));
            in.put("attention_mask", OnnxTensor.createTensor(env, new long[][] {{1}}));
            in.put("position_ids", OnnxTensor.createTensor(env, new long[][][] {{{0}}, {{0}}, {{0}}}));
            for (int i = 0; i < c.layers(); i++) {
                for (String kind : List.of("key", "value")) {
                    in.put("past_key_values." + i + "." + kind, OnnxTensor.createTensor(env,
                            ByteBuffer.allocateDirect(0), new long[] {1, c.kvHeads(), 0, c.headDim()},
                            ai.onnxruntime.OnnxJavaType.FLOAT16));
                }
            }
            try (OrtSession.Result r = s.run(in)) {
                ShortBuffer logits = ((OnnxTensor) r.get("logits").orElseThrow()).getShortBuffer();
                assertThat(logits.remaining()).isEqualTo(c.vocabSize());
                for (int i = 0; i < logits.remaining(); i += 101) {
                    assertThat(Float.isFinite(Float16.toFloat(logits.get(i)))).isTrue();
                }
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void aCacheOfMixedTypesIsRefusedAtOpen() throws Exception {
        Path onnx = model.resolve("onnx");
        OnnxModel decoder = OnnxModel.read(onnx.resolve("decoder_model_merged.onnx"));
        Set<String> pasts = new java.util.HashSet<>();
        decoder.inputs().stream().filter(i -> i.name().startsWith("past_key_values.")).forEach(i -> pasts.add(i.name()));
        // float16 past inputs, float32 presents: feeding a present back as the next past would fail mid-sampling
        OnnxModel mixed = half(onnx.resolve("decoder_model_merged.onnx"), pasts, Set.of(), false);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.github.mmupt.onnx.family.GraphContract.checkDecoder(
                QwenFamily.open(model, OnnxVariant.FP32), mixed))
                .hasMessageContaining("present.0.key is FLOAT but past_key_values.0.key is FLOAT16")
                .hasMessageContaining("must share one element type");
    }

    private static List<Prompt> prompts() {
        List<Prompt> prompts = new ArrayList<>();
        int[][] sizes = {{56, 56}, {112, 56}, {28, 28}};
        for (int i = 0; i < sizes.length; i++) {
            byte[] rgb = new byte[sizes[i][0] * sizes[i][1] * 3];
            for (int k = 0; k < rgb.length; k++) {
                rgb[k] = (byte) ((k * 29 + i * 13) % 251);
            }
            prompts.add(new Prompt("h" + i, List.of(RgbImage.of(sizes[i][0], sizes[i][1], rgb)),
                    "<image>" + "How many red squares are there?".substring(0, 14 + 7 * i)));
        }
        return prompts;
    }

    // ------------------------------------------------------------------ the fp16 rewrite of a generated graph

    /**
     * The graph with {@code inputs} and {@code outputs} declared float16 (Casts to and from the float32 inside)
     * and, for the decoder, a float16 head: the hidden state cast to float16, times the head weight rounded to
     * float16, straight into float16 logits.
     */
    private static OnnxModel half(Path file, Set<String> inputs, Set<String> outputs, boolean head) throws Exception {
        OnnxModel model = OnnxModel.read(file);
        GraphProto.Builder g = model.graph().toBuilder();
        List<NodeProto> front = new ArrayList<>();
        for (String name : inputs) {
            rename(g, name, name + ".f32", false);
            front.add(cast(name, name + ".f32", TensorProto.DataType.FLOAT));
            setType(g.getInputBuilderList(), name);
        }
        for (String name : outputs) {
            rename(g, name, name + ".f32", true);
            g.addNode(cast(name + ".f32", name, TensorProto.DataType.FLOAT16));
            setType(g.getOutputBuilderList(), name);
        }
        if (head) {
            int at = producer(g, "logits");
            while (g.getNode(at).getOpType().equals("Identity")) {
                at = producer(g, g.getNode(at).getInput(0));
            }
            NodeProto matmul = g.getNode(at);
            assertThat(matmul.getOpType()).isEqualTo("MatMul");
            String weight = matmul.getInput(1);
            int wi = -1;
            for (int i = 0; i < g.getInitializerCount(); i++) {
                if (g.getInitializer(i).getName().equals(weight)) {
                    wi = i;
                }
            }
            float[] w = model.initializer(weight).values();
            ByteBuffer raw = ByteBuffer.allocate(2 * w.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : w) {
                raw.putShort(Float16.fromFloat(x));
            }
            TensorProto.Builder w16 = TensorProto.newBuilder().setName(weight).setDataType(TensorProto.DataType.FLOAT16_VALUE)
                    .addAllDims(g.getInitializer(wi).getDimsList()).setRawData(ByteString.copyFrom(raw.array()));
            g.setInitializer(wi, w16);
            String hidden16 = matmul.getInput(0) + ".f16";
            g.setNode(at, matmul.toBuilder().setInput(0, hidden16).build());
            front.add(cast(matmul.getInput(0), hidden16, TensorProto.DataType.FLOAT16));
            setType(g.getOutputBuilderList(), "logits");
        }
        List<NodeProto> nodes = new ArrayList<>(front);
        nodes.addAll(g.getNodeList());
        // a node must follow what it reads: put each Cast of the hidden state after its producer
        g.clearNode().addAllNode(topological(nodes));
        return model.with(model.proto().toBuilder().setGraph(g).build());
    }

    private static int producer(GraphProto.Builder g, String value) {
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getOutputList().contains(value)) {
                return i;
            }
        }
        throw new AssertionError("nothing produces " + value);
    }

    private static List<NodeProto> topological(List<NodeProto> nodes) {
        Set<String> ready = new java.util.HashSet<>();
        List<NodeProto> out = new ArrayList<>();
        List<NodeProto> left = new ArrayList<>(nodes);
        Set<String> produced = new java.util.HashSet<>();
        nodes.forEach(n -> produced.addAll(n.getOutputList()));
        while (!left.isEmpty()) {
            boolean moved = false;
            for (var it = left.iterator(); it.hasNext();) {
                NodeProto n = it.next();
                if (n.getInputList().stream().allMatch(x -> x.isEmpty() || !produced.contains(x) || ready.contains(x))) {
                    out.add(n);
                    ready.addAll(n.getOutputList());
                    it.remove();
                    moved = true;
                }
            }
            assertThat(moved).as("the rewritten graph is acyclic").isTrue();
        }
        return out;
    }

    /** Renames a value: its consumers' inputs, and the producer's output when {@code produced}. */
    private static void rename(GraphProto.Builder g, String from, String to, boolean produced) {
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto.Builder n = g.getNode(i).toBuilder();
            for (int k = 0; k < n.getInputCount(); k++) {
                if (n.getInput(k).equals(from)) {
                    n.setInput(k, to);
                }
            }
            for (int k = 0; produced && k < n.getOutputCount(); k++) {
                if (n.getOutput(k).equals(from)) {
                    n.setOutput(k, to);
                }
            }
            g.setNode(i, n);
        }
    }

    private static void setType(List<ValueInfoProto.Builder> values, String name) {
        for (ValueInfoProto.Builder v : values) {
            if (v.getName().equals(name)) {
                v.getTypeBuilder().getTensorTypeBuilder().setElemType(TensorProto.DataType.FLOAT16_VALUE);
            }
        }
    }

    private static NodeProto cast(String from, String to, TensorProto.DataType type) {
        return NodeProto.newBuilder().setOpType("Cast").setName(to + "_cast").addInput(from).addOutput(to)
                .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                        .setI(type.getNumber()))
                .build();
    }
}
