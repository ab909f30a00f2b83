package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.adapter.TrunkAdapters;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.family.GraphContract;
import io.github.mmupt.onnx.family.ModelFamily;
import io.github.mmupt.onnx.grad.GradientGraph;
import io.github.mmupt.onnx.lora.LoraExport;
import io.github.mmupt.onnx.lora.LoraGraph;
import io.github.mmupt.onnx.lora.LoraTarget;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.qwen.OnnxVariant;
import io.github.mmupt.onnx.qwen.QwenFamily;
import io.github.mmupt.onnx.qwen.QwenVlConfig;
import io.github.mmupt.onnx.tiny.ModelManifest;
import io.github.mmupt.onnx.tiny.TinyFamily;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PolicySpec;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.policy.Tokenizer;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * A {@link Policy} whose trunk runs in ONNX Runtime: a vision encoder, token embeddings and a decoder with a KV
 * cache, of any {@link ModelFamily}. The family says what differs (tokenizer, prompt layout, image
 * preprocessing, positions, names and dimensions); this class runs the sessions the same way for all.
 *
 * <p>On load every graph is checked against the family (a mismatch fails with the file, the input or output,
 * and both shapes), then the decoder is rewritten: its LM head is taken out (available as
 * {@link #initialHead()}, to be trained by a {@code GrpoOptimizer}) and the final hidden state becomes an
 * output.
 *
 * <p>Ownership and lifecycle: the policy owns its three sessions and closes them in {@link #close()}
 * (idempotent). Threading: one caller at a time.
 *
 * <pre>{@code
 * try (OnnxPolicy policy = OnnxPolicy.open(modelDir, PolicyOptions.defaults())) {
 *     HeadWeights head = policy.initialHead();
 * }
 * }</pre>
 */
public final class OnnxPolicy implements Policy {

    /** The name given to the exposed final hidden state. */
    public static final String HIDDEN_OUTPUT = "hidden_states";

    private final ModelFamily family;
    private final OnnxModel originalDecoder;
    private final HeadWeights initialHead;
    private final PolicySpec spec;
    private final TrunkSessions sessions;
    private final String providerInUse;
    private final ScratchBuffers scratch = new ScratchBuffers();
    private final long kvCacheBudget;
    /** The decoder's LoRA adapters, or null for a frozen trunk; set once by {@link #open}. */
    private LoraTrunk lora;
    private boolean closed;

    private OnnxPolicy(ModelFamily family, OnnxModel originalDecoder, HeadWeights initialHead, String modelId,
            TrunkSessions sessions, String providerInUse, long kvCacheBudget) {
        this.family = family;
        this.kvCacheBudget = kvCacheBudget;
        this.originalDecoder = originalDecoder;
        this.initialHead = initialHead;
        this.sessions = sessions;
        this.providerInUse = providerInUse;
        this.spec = new PolicySpec(modelId, family.shape().hiddenSize(), family.shape().vocabSize(),
                family.endOfSequence());
    }

    /**
     * Loads a model directory, recognising its family: a tiny generated model by its
     * {@value ModelManifest#FILE_NAME}, a Qwen2-VL / Qwen2.5-VL export by its {@code config.json} (fp32 weights;
     * for another variant open {@code QwenFamily.open(dir, variant)} and pass it to
     * {@link #open(ModelFamily, PolicyOptions)}).
     *
     * @param directory the model directory
     * @param options execution provider and threads
     * @return the policy, open; close it
     * @throws IOException when a file is missing or unreadable, or a graph does not fit the family's description
     */
    public static OnnxPolicy open(Path directory, PolicyOptions options) throws IOException {
        if (Files.isRegularFile(directory.resolve(ModelManifest.FILE_NAME))) {
            return open(TinyFamily.open(directory), options);
        }
        if (Files.isRegularFile(directory.resolve("config.json"))) {
            return open(QwenFamily.open(directory, OnnxVariant.FP32), options);
        }
        throw new IOException("not a model directory: " + directory.toAbsolutePath() + " has neither "
                + ModelManifest.FILE_NAME + " (a generated tiny model) nor config.json (a Hugging Face export; "
                + "model_type one of " + QwenVlConfig.SUPPORTED_TYPES + ")");
    }

    /**
     * Loads the model a family describes.
     *
     * @param family the family, read from its model directory
     * @param options execution provider and threads
     * @return the policy, open; close it
     * @throws IOException when a graph is missing or unreadable, or does not fit the family's description
     */
    public static OnnxPolicy open(ModelFamily family, PolicyOptions options) throws IOException {
        Path dir = family.directory();
        OnnxModel visionModel = OnnxModel.read(dir.resolve(family.visionFile()));
        OnnxModel embedModel = OnnxModel.read(dir.resolve(family.embedFile()));
        OnnxModel decoderModel = OnnxModel.read(dir.resolve(family.decoderFile()));
        family.checkVision(visionModel);
        GraphContract.checkEmbedding(family, embedModel);
        GraphContract.checkDecoder(family, decoderModel);
        HeadSurgery.Detached detached = family.detachHead(decoderModel, HIDDEN_OUTPUT);
        int d = family.shape().hiddenSize();
        int v = family.shape().vocabSize();
        if (detached.head().shape().hiddenSize() != d || detached.head().shape().vocabSize() != v) {
            throw new IOException(decoderModel.source() + ": the LM head is [V=" + detached.head().shape().vocabSize()
                    + " x d=" + detached.head().shape().hiddenSize() + "] but the " + family.name()
                    + " configuration says [V=" + v + " x d=" + d + "]");
        }
        // the digests stream external data: the id covers every weight without holding any of them
        String modelId = sha256(visionModel.sha256(), embedModel.sha256(), detached.trunk().sha256());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> opened = new ArrayList<>();
        OnnxModel trunk = detached.trunk();
        LoraGraph lora = null;
        GradientGraph loraGradients = null;
        if (options.lora().isPresent()) {
            // rewritten once: each targeted projection takes its adapters as inputs, and the gradient graph is
            // derived from that same graph, so sampling, scoring and training see one model
            lora = LoraGraph.rewrite(trunk, options.lora().get());
            List<String> adapters = new ArrayList<>();
            for (LoraTarget t : lora.targets()) {
                adapters.add(t.aInput());
                adapters.add(t.bInput());
            }
            trunk = lora.model();
            loraGradients = GradientGraph.build(LoraTrunk.withoutCache(trunk, family), List.of(HIDDEN_OUTPUT), adapters);
        }
        try {
            String provider = "CPU";
            OrtSession[] sessions3 = new OrtSession[3];
            OnnxModel[] models = {visionModel, embedModel, trunk};
            for (int i = 0; i < models.length; i++) {
                try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                    provider = SessionSettings.configure(so, options);
                    sessions3[i] = open(env, models[i], so, opened);
                }
            }
            TrunkSessions sessions = new TrunkSessions(env, sessions3[0], sessions3[1], sessions3[2], family.names(),
                    family.shape(), options.runListener());
            OnnxPolicy policy = new OnnxPolicy(family, decoderModel, detached.head(), modelId, sessions, provider,
                    options.effectiveKvCacheBudget());
            if (lora != null) {
                if (sessions.anyHalf()) {
                    policy.close();
                    throw new IOException(dir + ": LoRA training needs a float32 decoder; this export keeps float16 "
                            + "tensors (open the fp32 variant)");
                }
                OrtSession gradientSession;
                try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                    SessionSettings.configure(so, options);
                    gradientSession = open(env, loraGradients.model(), so, opened);
                }
                policy.lora = new LoraTrunk(policy, lora, loraGradients, gradientSession);
            }
            return policy;
        } catch (OrtException e) {
            opened.forEach(TrunkSessions::closeQuietly);
            throw new IOException("ONNX Runtime could not load " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            opened.forEach(TrunkSessions::closeQuietly);
            throw e;
        }
    }

    private static OrtSession open(OrtEnvironment env, OnnxModel model, OrtSession.SessionOptions so, List<OrtSession> opened)
            throws OrtException {
        Optional<Path> folder = model.externalDataFolder();
        if (folder.isPresent()) {
            // the session is made from the graph's bytes; its external initializers resolve here, read by ONNX
            // Runtime itself, so no weight passes through the Java heap
            so.addConfigEntry("session.model_external_initializers_file_folder_path", folder.get().toString());
        }
        OrtSession s = env.createSession(model.toBytes(), so);
        opened.add(s);
        return s;
    }

    // ------------------------------------------------------------------ the Policy seam

    @Override
    public PolicySpec spec() {
        return spec;
    }

    /** {@return the model's family: its tokenizer, prompt layout, names and dimensions} */
    public ModelFamily family() {
        return family;
    }

    @Override
    public Tokenizer tokenizer() {
        return family.tokenizer();
    }

    /**
     * The LM head as the model file had it: the starting point of training.
     *
     * @return the head as the model has it (a copy)
     */
    public HeadWeights initialHead() {
        return initialHead;
    }

    /**
     * "CPU" or "CUDA".
     *
     * @return the provider the sessions run on
     */
    public String executionProvider() {
        return providerInUse;
    }

    /**
     * The decoder's LoRA adapters when the policy was opened with {@link PolicyOptions#withLora}: the training
     * loop trains them with the head.
     *
     * @return the adapters, or empty for a frozen trunk
     */
    @Override
    public Optional<TrunkAdapters> adapters() {
        checkOpen();
        return Optional.ofNullable(lora);
    }

    @Override
    public HiddenStates responseHiddenStates(List<PromptResponse> sequences) {
        checkOpen();
        int d = family.shape().hiddenSize();
        long rows = 0;
        for (PromptResponse pr : sequences) {
            rows += pr.responseTokens().length();
        }
        if (rows * d > Integer.MAX_VALUE - 8) {
            // one Java buffer holds at most 2^31 - 1 floats; the trainer asks per micro-batch, so this is a setting
            throw new IllegalArgumentException(sequences.size() + " sequences with " + rows + " response tokens need "
                    + rows + " x d=" + d + " = " + rows * d + " floats of hidden states, more than one Java buffer holds "
                    + "(2^31 - 1): ask for fewer sequences at a time (MmUpt.Builder.microBatchSequences)");
        }
        // the result belongs to the caller: a heap buffer, which the garbage collector accounts for
        FloatBuffer out = FloatBuffer.allocate((int) (rows * d));
        int at = 0;
        for (PromptResponse pr : sequences) {
            SequenceFeed feed = feed(pr);
            FloatBuffer hidden = scratch.floats("sequence-hidden", (long) feed.total() * d);
            try (KvCache empty = KvCache.empty(sessions, 1);
                    OrtSession.Result r = sessions.runDecoder(feed.embeds(), 1, feed.total(), feed.mask(),
                            feed.positions(), feed.axes(), empty, hidden)) {
                // rows p-1 .. p+L-2 predict the response tokens 0 .. L-1
                FloatBuffer rowsView = hidden.duplicate();
                rowsView.position(feed.firstRow() * d).limit((feed.firstRow() + feed.responseTokens()) * d);
                out.position(at * d);
                out.put(rowsView);
            }
            at += feed.responseTokens();
        }
        out.clear();
        return new HiddenStates((int) rows, d, out);
    }

    /**
     * The decoder's inputs for one whole sequence (prompt and response, no cache), in this policy's scratch slots
     * (valid until the next call): the row of the position predicting response token 0 is {@code firstRow}.
     */
    record SequenceFeed(FloatBuffer embeds, int total, int firstRow, int responseTokens, LongBuffer mask,
            LongBuffer positions, int axes) {
    }

    /** Embeds a prompt and its response for one full-sequence decoder run, checking ids and length. */
    SequenceFeed feed(PromptResponse pr) {
        int d = family.shape().hiddenSize();
        EncodedPrompt prompt = encode(pr.prompt());
        ImmutableIntArray response = pr.responseTokens();
        checkTokens(response, "response of prompt " + pr.prompt().id());
        int p = prompt.ids().length();
        int total = p + response.length();
        checkLength(pr.prompt(), p, response.length(), "response");
        FloatBuffer embeds = scratch.floats("sequence-embeds", (long) total * d);
        embeds.put(sessions.promptEmbeddings(prompt));
        embeds.put(sessions.tokenEmbeddings(response, 1, response.length(), "token-embeds"));
        embeds.flip();
        return new SequenceFeed(embeds, total, p - 1, response.length(), ones(scratch, "sequence-mask", total),
                PositionIds.sequence(scratch, "sequence-positions", prompt.positions(), total), prompt.positions().axes());
    }

    /**
     * Writes the decoder's LoRA adapters alone, in PEFT's format ({@code adapter_model.safetensors} and
     * {@code adapter_config.json}, PEFT's tensor names), for the Python ecosystem; the directory is written beside
     * {@code target} and renamed into place.
     *
     * @param target the adapter directory to write
     * @throws IOException when writing fails
     * @throws IllegalStateException when the policy has no adapters
     */
    public void exportAdapters(Path target) throws IOException {
        checkOpen();
        if (lora == null) {
            throw new IllegalStateException("this policy has no LoRA adapters to export (open it with "
                    + "PolicyOptions.withLora)");
        }
        LoraExport.writePeft(target, lora.targets(), lora.settings(), lora.parameters().values(),
                family.directory().toAbsolutePath().toString());
    }

    /**
     * Writes a complete model directory with {@code trained} as its LM head (a LoRA merged) and the decoder's
     * LoRA adapters, if any, merged into its weights, runnable by any ONNX Runtime deployment that ran the
     * original: the family's other files are copied unchanged. The
     * directory is written beside {@code target} and renamed into place.
     *
     * @param target the directory to write (a model directory like the source)
     * @param trained the head to put in
     * @throws IOException when writing fails
     */
    public void exportModel(Path target, HeadWeights trained) throws IOException {
        Path tmp = Files.createTempDirectory(target.toAbsolutePath().getParent(), target.getFileName() + ".tmp");
        try {
            java.util.Set<Path> copiedData = new java.util.HashSet<>();
            for (String f : family.unchangedFiles()) {
                copy(family.directory().resolve(f), tmp.resolve(f));
                if (f.endsWith(".onnx")) {
                    // an unchanged graph's external data goes with it (a real embed_tokens.onnx may have some)
                    Path from = family.directory().resolve(f);
                    for (String data : OnnxModel.read(from).externalDataFiles()) {
                        copy(from.resolveSibling(data), tmp.resolve(f).resolveSibling(data));
                        copiedData.add(tmp.resolve(f).resolveSibling(data).normalize());
                    }
                }
            }
            Path decoderOut = tmp.resolve(family.decoderFile());
            Files.createDirectories(decoderOut.getParent());
            OnnxModel base = lora == null ? originalDecoder : LoraExport.merged(originalDecoder, lora.targets(),
                    lora.settings(), lora.parameters().values());
            OnnxModel withHead = HeadSurgery.attach(base, family.names().logits(), trained);
            Optional<String> data = family.decoderDataFile();
            long headBytes = 4L * trained.shape().vocabSize() * trained.shape().hiddenSize();
            if (data.isEmpty() && (!originalDecoder.externalDataFiles().isEmpty() || headBytes >= SINGLE_FILE_HEAD_LIMIT)) {
                data = Optional.of(decoderOut.getFileName() + "_data");
            }
            if (data.isPresent() && copiedData.contains(decoderOut.resolveSibling(data.get()).normalize())) {
                // a data file the other graphs share must not be rewritten under them: the decoder gets its own
                data = Optional.of(decoderOut.getFileName() + ".mmupt_data");
            }
            if (data.isPresent()) {
                withHead.write(decoderOut, data.get()); // streamed: the weights never sit in one buffer
            } else {
                withHead.write(decoderOut);
            }
            AtomicFiles.move(tmp, target);
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    /** Heads at least this large are exported to a data file even where the source decoder had none. */
    private static final long SINGLE_FILE_HEAD_LIMIT = 1L << 30;

    private static void copy(Path from, Path to) throws IOException {
        if (!Files.exists(to)) {
            Files.createDirectories(to.toAbsolutePath().getParent());
            Files.copy(from, to);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (lora != null) {
            lora.close();
        }
        sessions.close();
    }

    // ------------------------------------------------------------------ for the sampler

    EncodedPrompt encode(Prompt prompt) {
        checkOpen();
        return family.encode(prompt);
    }

    TrunkSessions sessions() {
        checkOpen();
        return sessions;
    }

    /** Fails when a prompt and {@code tokens} more (a response, or the most a sampler may add) exceed the model. */
    void checkLength(Prompt prompt, int promptTokens, int tokens, String what) {
        int max = family.shape().maxPositions();
        if (promptTokens + tokens > max) {
            throw new IllegalArgumentException("prompt " + prompt.id() + ": " + promptTokens + " prompt tokens plus "
                    + tokens + " " + what + " tokens exceed the model's " + max + " positions");
        }
    }

    /**
     * Fails, naming every factor, when a decoding batch of {@code batch} sequences of up to {@code length} tokens
     * would need a KV cache over the budget (the past and the present both live during a step).
     */
    void checkKvCache(Prompt prompt, int batch, int length) {
        long bytes = kvCacheBytes(batch, length);
        if (bytes > kvCacheBudget) {
            var t = family.shape();
            throw new IllegalArgumentException("prompt " + prompt.id() + ": decoding " + batch + " responses of up to "
                    + length + " tokens (prompt and new) needs a KV cache of " + bytes + " bytes = 2 (past and present) x "
                    + batch + " sequences x " + length + " positions x " + t.layers() + " layers x 2 (keys and values) x "
                    + t.kvHeads() + " kv heads x " + t.headDim() + " head dim x " + sessions.kvElementBytes() + " bytes ("
                    + (sessions.kvElementBytes() == 2 ? "float16" : "float32") + "), over the budget of "
                    + kvCacheBudget + " bytes (PolicyOptions.withKvCacheBudget): sample fewer responses at a time, "
                    + "fewer new tokens, or raise the budget");
        }
    }

    /** {@return whether a decoding batch of {@code batch} rows of up to {@code length} tokens fits the KV budget} */
    boolean fitsKvCache(int batch, int length) {
        return kvCacheBytes(batch, length) <= kvCacheBudget;
    }

    /** Bytes of the past and present KV caches of a decoding batch at its longest. */
    long kvCacheBytes(int batch, int length) {
        var shape = family.shape();
        return 2L * batch * length * shape.layers() * 2L * shape.kvHeads() * shape.headDim() * sessions.kvElementBytes();
    }

    void checkTokens(ImmutableIntArray ids, String what) {
        int v = family.shape().vocabSize();
        for (int i = 0; i < ids.length(); i++) {
            if (ids.get(i) < 0 || ids.get(i) >= v) {
                throw new IllegalArgumentException(what + ": token " + i + " is id " + ids.get(i)
                        + ", outside the vocabulary [0, " + v + ")");
            }
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this OnnxPolicy is closed");
        }
    }

    /** {@code n} ones in a slot of {@code scratch}. */
    static LongBuffer ones(ScratchBuffers scratch, String slot, int n) {
        LongBuffer b = scratch.longs(slot, n);
        for (int i = 0; i < n; i++) {
            b.put(i, 1L);
        }
        return b;
    }

    static FloatBuffer directFloats(long n) {
        return ByteBuffer.allocateDirect(Math.toIntExact(4 * n)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static String sha256(String... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String p : parts) {
                md.update(p.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
