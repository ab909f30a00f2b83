package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.model.TensorInfo;
import io.github.mmupt.onnx.tokenizer.VocabularyTokenizer;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.Policy;
import io.github.mmupt.policy.PolicySpec;
import io.github.mmupt.policy.PromptResponse;
import io.github.mmupt.prompt.Prompt;
import io.github.mmupt.prompt.RgbImage;
import io.github.mmupt.storage.AtomicFiles;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
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
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Policy} whose trunk runs in ONNX Runtime: a vision encoder, token embeddings and a decoder with a KV
 * cache, loaded from a model directory described by a {@link ModelManifest}.
 *
 * <p>On load the decoder is rewritten by {@link HeadSurgery}: its LM head is taken out (available as
 * {@link #initialHead()}, to be trained by a {@code GrpoOptimizer}) and the final hidden state becomes an
 * output. Every graph is checked against the manifest first; a mismatch fails with the file, the input or
 * output, and both shapes.
 *
 * <p>Prompts are laid out as {@code <bos>}, the question text with {@value Prompt#IMAGE_PLACEHOLDER} replaced
 * by one image token per vision-encoder row (images first when there is no placeholder), then
 * {@code <answer>}; the image features overwrite the embeddings at the image positions.
 *
 * <p>Ownership and lifecycle: the policy owns its three sessions and closes them in {@link #close()}
 * (idempotent). Threading: one caller at a time. Inputs go to ONNX Runtime as direct buffers without copies;
 * the hidden-state output is pinned into a direct buffer where its shape is known.
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

    private static final Logger LOG = LoggerFactory.getLogger(OnnxPolicy.class);

    private final Path directory;
    private final ModelManifest manifest;
    private final VocabularyTokenizer tokenizer;
    private final OnnxModel originalDecoder;
    private final HeadWeights initialHead;
    private final PolicySpec spec;
    private final OrtEnvironment env;
    private final OrtSession vision;
    private final OrtSession embed;
    private final OrtSession decoder;
    private final List<String> pastKeys = new ArrayList<>();
    private final List<String> pastValues = new ArrayList<>();
    private final List<String> presentKeys = new ArrayList<>();
    private final List<String> presentValues = new ArrayList<>();
    private final String providerInUse;
    /** Transient inputs and outputs of the sessions, reused from call to call (see {@link ScratchBuffers}). */
    private final ScratchBuffers scratch = new ScratchBuffers();
    private long runtimeNanos;
    private boolean closed;

    private OnnxPolicy(Path directory, ModelManifest manifest, VocabularyTokenizer tokenizer, OnnxModel originalDecoder,
            HeadWeights initialHead, String modelId, OrtEnvironment env, OrtSession vision, OrtSession embed,
            OrtSession decoder, String providerInUse) {
        this.directory = directory;
        this.manifest = manifest;
        this.tokenizer = tokenizer;
        this.originalDecoder = originalDecoder;
        this.initialHead = initialHead;
        this.env = env;
        this.vision = vision;
        this.embed = embed;
        this.decoder = decoder;
        this.providerInUse = providerInUse;
        ModelManifest.Io io = manifest.io();
        for (int i = 0; i < manifest.layers(); i++) {
            pastKeys.add(String.format(io.pastKey(), i));
            pastValues.add(String.format(io.pastValue(), i));
            presentKeys.add(String.format(io.presentKey(), i));
            presentValues.add(String.format(io.presentValue(), i));
        }
        this.spec = new PolicySpec(modelId, manifest.hiddenSize(), manifest.vocabSize(),
                ImmutableIntArray.of(manifest.tokens().eos()));
    }

    /**
     * Loads a model directory.
     *
     * @param directory the model directory
     * @param options execution provider and threads
     * @return the policy, open; close it
     * @throws IOException when a file is missing or unreadable, or a graph does not match the manifest
     */
    public static OnnxPolicy open(Path directory, PolicyOptions options) throws IOException {
        ModelManifest m = ModelManifest.read(directory);
        VocabularyTokenizer tokenizer = VocabularyTokenizer.read(directory.resolve(m.files().tokenizer()));
        if (tokenizer.vocabSize() != m.vocabSize()) {
            throw new IOException(directory.resolve(m.files().tokenizer()) + " has " + tokenizer.vocabSize()
                    + " tokens but the manifest says V = " + m.vocabSize());
        }
        OnnxModel visionModel = OnnxModel.read(directory.resolve(m.files().vision()));
        OnnxModel embedModel = OnnxModel.read(directory.resolve(m.files().embed()));
        OnnxModel decoderModel = OnnxModel.read(directory.resolve(m.files().decoder()));
        GraphContract.check(m, visionModel, embedModel, decoderModel);
        HeadSurgery.Detached detached = HeadSurgery.detach(decoderModel, m.io().logits(), HIDDEN_OUTPUT);
        if (detached.head().shape().hiddenSize() != m.hiddenSize() || detached.head().shape().vocabSize() != m.vocabSize()) {
            throw new IOException(decoderModel.source() + ": the LM head is [V=" + detached.head().shape().vocabSize()
                    + " x d=" + detached.head().shape().hiddenSize() + "] but the manifest says [V=" + m.vocabSize()
                    + " x d=" + m.hiddenSize() + "]");
        }
        String modelId = sha256(visionModel.toBytes(), embedModel.toBytes(), detached.trunk().toBytes());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> opened = new ArrayList<>();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            String provider = configure(so, options);
            OrtSession vs = open(env, visionModel, so, opened);
            OrtSession es = open(env, embedModel, so, opened);
            OrtSession ds = open(env, detached.trunk(), so, opened);
            return new OnnxPolicy(directory, m, tokenizer, decoderModel, detached.head(), modelId, env, vs, es, ds, provider);
        } catch (OrtException e) {
            opened.forEach(OnnxPolicy::closeQuietly);
            throw new IOException("ONNX Runtime could not load " + directory + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            opened.forEach(OnnxPolicy::closeQuietly);
            throw e;
        }
    }

    private static OrtSession open(OrtEnvironment env, OnnxModel model, OrtSession.SessionOptions so, List<OrtSession> opened)
            throws OrtException {
        OrtSession s = env.createSession(model.toBytes(), so);
        opened.add(s);
        return s;
    }

    /** Session options fit for a small machine; returns the provider actually used. */
    private static String configure(OrtSession.SessionOptions so, PolicyOptions options) throws OrtException {
        so.setIntraOpNumThreads(options.intraOpThreads());
        so.setInterOpNumThreads(1);
        // idle ORT workers must not spin against the head kernel's threads
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        so.addConfigEntry("session.inter_op.allow_spinning", "0");
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        if (options.provider() == ExecutionProvider.CPU) {
            return "CPU";
        }
        boolean available = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        if (available) {
            try {
                so.addCUDA(0);
                return "CUDA";
            } catch (OrtException e) {
                if (options.provider() == ExecutionProvider.CUDA) {
                    throw e;
                }
                LOG.warn("the CUDA execution provider failed to start ({}); running on the CPU", e.getMessage());
                return "CPU";
            }
        }
        if (options.provider() == ExecutionProvider.CUDA) {
            throw new IllegalStateException("the CUDA execution provider is not available (build with -Pgpu for the "
                    + "onnxruntime_gpu artifact, on a machine with a GPU); available: "
                    + OrtEnvironment.getAvailableProviders());
        }
        LOG.warn("no CUDA execution provider in this ONNX Runtime ({}); running on the CPU",
                OrtEnvironment.getAvailableProviders());
        return "CPU";
    }

    // ------------------------------------------------------------------ the Policy seam

    @Override
    public PolicySpec spec() {
        return spec;
    }

    /** {@return what the model directory declares} */
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public VocabularyTokenizer tokenizer() {
        return tokenizer;
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
     * Nanoseconds spent inside ONNX Runtime runs so far (for profiling glue code).
     *
     * @return nanoseconds
     */
    public long runtimeNanos() {
        return runtimeNanos;
    }

    @Override
    public HiddenStates responseHiddenStates(List<PromptResponse> sequences) {
        checkOpen();
        int d = manifest.hiddenSize();
        long rows = 0;
        for (PromptResponse pr : sequences) {
            rows += pr.responseTokens().length();
        }
        // the result belongs to the caller: a heap buffer, which the garbage collector accounts for
        FloatBuffer out = FloatBuffer.allocate(Math.toIntExact(rows * d));
        int at = 0;
        for (PromptResponse pr : sequences) {
            EncodedPrompt prompt = encode(pr.prompt());
            ImmutableIntArray response = pr.responseTokens();
            checkTokens(response, "response of prompt " + pr.prompt().id());
            int p = prompt.ids().length();
            int total = p + response.length();
            if (total > manifest.maxPositions()) {
                throw new IllegalArgumentException("prompt " + pr.prompt().id() + ": " + p + " prompt and "
                        + response.length() + " response tokens exceed the model's " + manifest.maxPositions() + " positions");
            }
            FloatBuffer embeds = scratch.floats("sequence-embeds", (long) total * d);
            embeds.put(promptEmbeddings(prompt));
            embeds.put(tokenEmbeddings(response, 1, response.length()));
            embeds.flip();
            FloatBuffer hidden = scratch.floats("sequence-hidden", (long) total * d);
            try (KvCache empty = KvCache.empty(this, 1)) {
                try (OrtSession.Result r = runDecoder(embeds, 1, total, ones(scratch, "sequence-mask", total),
                        positions(scratch, "sequence-positions", 0, total, 1), empty, hidden)) {
                    // rows p-1 .. p+L-2 predict the response tokens 0 .. L-1
                    FloatBuffer rowsView = hidden.duplicate();
                    rowsView.position((p - 1) * d).limit((p - 1 + response.length()) * d);
                    out.position(at * d);
                    out.put(rowsView);
                }
            }
            at += response.length();
        }
        out.clear();
        return new HiddenStates((int) rows, d, out);
    }

    /**
     * Writes a complete model directory with {@code trained} as its LM head (a LoRA merged), runnable by any
     * ONNX Runtime deployment that ran the original. The directory is written beside {@code target} and
     * renamed into place.
     *
     * @param target the directory to write (a model directory like the source)
     * @param trained the head to put in
     * @throws IOException when writing fails
     */
    public void exportModel(Path target, HeadWeights trained) throws IOException {
        Path tmp = Files.createTempDirectory(target.toAbsolutePath().getParent(), target.getFileName() + ".tmp");
        try {
            for (String f : List.of(manifest.files().vision(), manifest.files().embed(), manifest.files().tokenizer())) {
                Files.copy(directory.resolve(f), tmp.resolve(f));
            }
            HeadSurgery.attach(originalDecoder, manifest.io().logits(), trained).write(tmp.resolve(manifest.files().decoder()));
            manifest.write(tmp);
            AtomicFiles.move(tmp, target);
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(decoder);
        closeQuietly(embed);
        closeQuietly(vision);
    }

    // ------------------------------------------------------------------ prompts

    /** A prompt as token ids, with where each image's tokens start. */
    record EncodedPrompt(ImmutableIntArray ids, int[] imageStarts, List<RgbImage> images) {
    }

    EncodedPrompt encode(Prompt prompt) {
        ModelManifest.SpecialTokens st = manifest.tokens();
        ImmutableIntArray.Builder ids = ImmutableIntArray.builder();
        List<Integer> starts = new ArrayList<>();
        ids.add(st.bos());
        String question = prompt.question();
        int placeholders = Prompt.placeholderCount(question);
        if (placeholders == 0) {
            for (int k = 0; k < prompt.images().size(); k++) {
                starts.add(ids.build().length());
                addImageTokens(ids);
            }
            ids.addAll(tokenizer.encode(question));
        } else {
            String[] parts = question.split(java.util.regex.Pattern.quote(Prompt.IMAGE_PLACEHOLDER), -1);
            for (int k = 0; k < parts.length; k++) {
                ids.addAll(tokenizer.encode(parts[k]));
                if (k < parts.length - 1) {
                    starts.add(ids.build().length());
                    addImageTokens(ids);
                }
            }
        }
        ids.add(st.answer());
        return new EncodedPrompt(ids.build(), starts.stream().mapToInt(Integer::intValue).toArray(), prompt.images());
    }

    private void addImageTokens(ImmutableIntArray.Builder ids) {
        for (int i = 0; i < manifest.imageTokens(); i++) {
            ids.add(manifest.tokens().image());
        }
    }

    /** [P x d] embeddings of a prompt, the image rows replaced by the vision encoder's features. */
    FloatBuffer promptEmbeddings(EncodedPrompt prompt) {
        int d = manifest.hiddenSize();
        FloatBuffer embeds = tokenEmbeddings(prompt.ids(), 1, prompt.ids().length(), "prompt-embeds");
        for (int k = 0; k < prompt.images().size(); k++) {
            FloatBuffer features = imageFeatures(prompt.images().get(k));
            embeds.position(prompt.imageStarts()[k] * d);
            embeds.put(features);
        }
        embeds.clear();
        return embeds;
    }

    /**
     * [B*S x d] embeddings of token ids (row-major [B, S]), in a reused direct buffer valid until the next call
     * (copy what must live longer).
     */
    FloatBuffer tokenEmbeddings(ImmutableIntArray ids, int batch, int seq) {
        return tokenEmbeddings(ids, batch, seq, "token-embeds");
    }

    private FloatBuffer tokenEmbeddings(ImmutableIntArray ids, int batch, int seq, String slot) {
        checkOpen();
        LongBuffer idBuf = scratch.longs("token-ids", (long) batch * seq);
        for (int i = 0; i < ids.length(); i++) {
            idBuf.put(i, ids.get(i));
        }
        int d = manifest.hiddenSize();
        FloatBuffer out = scratch.floats(slot, (long) batch * seq * d);
        try (OnnxTensor in = OnnxTensor.createTensor(env, idBuf, new long[] {batch, seq});
                OnnxTensor pinned = OnnxTensor.createTensor(env, out, new long[] {batch, seq, d})) {
            long t0 = System.nanoTime();
            try (OrtSession.Result r = embed.run(Map.of(manifest.io().inputIds(), in), Set.of(),
                    Map.of(manifest.io().inputsEmbeds(), pinned))) {
                runtimeNanos += System.nanoTime() - t0;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("the embedding graph failed: " + e.getMessage(), e);
        }
        return out;
    }

    /** [P x d] features of one image. */
    FloatBuffer imageFeatures(RgbImage image) {
        int s = manifest.imageSize();
        FloatBuffer pixels = scratch.floats("pixels", 3L * s * s);
        RgbImage sized = image.width() == s && image.height() == s ? image : resize(image, s);
        byte[] rgb = sized.toRgbBytes();
        for (int c = 0; c < 3; c++) {
            double mean = manifest.pixelMean().get(c);
            double std = manifest.pixelStd().get(c);
            for (int i = 0; i < s * s; i++) {
                pixels.put(c * s * s + i, (float) (((rgb[3 * i + c] & 0xff) / 255.0 - mean) / std));
            }
        }
        FloatBuffer out = scratch.floats("image-features", (long) manifest.imageTokens() * manifest.hiddenSize());
        try (OnnxTensor in = OnnxTensor.createTensor(env, pixels, new long[] {1, 3, s, s});
                OnnxTensor pinned = OnnxTensor.createTensor(env, out,
                        new long[] {1, manifest.imageTokens(), manifest.hiddenSize()})) {
            long t0 = System.nanoTime();
            try (OrtSession.Result r = vision.run(Map.of(manifest.io().pixelValues(), in),
                    Set.of(), Map.of(manifest.io().imageFeatures(), pinned))) {
                runtimeNanos += System.nanoTime() - t0;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("the vision graph failed: " + e.getMessage(), e);
        }
        return out;
    }

    private static RgbImage resize(RgbImage image, int size) {
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image.toBufferedImage(), 0, 0, size, size, null);
        g.dispose();
        return RgbImage.from(out);
    }

    // ------------------------------------------------------------------ the decoder

    /**
     * One decoder run over {@code seq} new positions of {@code batch} sequences after the cache; the hidden
     * states [batch x seq x d] go into {@code hiddenOut} (pinned), the presents stay in the returned result,
     * which the caller closes after their last use.
     */
    OrtSession.Result runDecoder(FloatBuffer embeds, int batch, int seq, LongBuffer mask, LongBuffer positions,
            KvCache past, FloatBuffer hiddenOut) {
        checkOpen();
        int d = manifest.hiddenSize();
        long total = (long) past.length() + seq;
        Map<String, OnnxTensor> inputs = new HashMap<>();
        List<OnnxTensor> created = new ArrayList<>();
        try {
            created.add(put(inputs, manifest.io().inputsEmbeds(), OnnxTensor.createTensor(env, embeds,
                    new long[] {batch, seq, d})));
            created.add(put(inputs, manifest.io().attentionMask(), OnnxTensor.createTensor(env, mask,
                    new long[] {batch, total})));
            created.add(put(inputs, manifest.io().positionIds(), OnnxTensor.createTensor(env, positions,
                    new long[] {batch, seq})));
            for (int i = 0; i < manifest.layers(); i++) {
                inputs.put(pastKeys.get(i), past.key(i));
                inputs.put(pastValues.get(i), past.value(i));
            }
            OnnxTensor pinned = OnnxTensor.createTensor(env, hiddenOut, new long[] {batch, seq, d});
            created.add(pinned);
            Set<String> outputs = new java.util.LinkedHashSet<>(presentKeys);
            outputs.addAll(presentValues);
            long t0 = System.nanoTime();
            OrtSession.Result r = decoder.run(inputs, outputs, Map.<String, OnnxValue>of(HIDDEN_OUTPUT, pinned));
            runtimeNanos += System.nanoTime() - t0;
            return r;
        } catch (OrtException e) {
            throw new IllegalStateException("the decoder graph failed: " + e.getMessage(), e);
        } finally {
            for (OnnxTensor t : created) {
                t.close();
            }
        }
    }

    private static OnnxTensor put(Map<String, OnnxTensor> inputs, String name, OnnxTensor t) {
        inputs.put(name, t);
        return t;
    }

    List<String> presentKeyNames() {
        return presentKeys;
    }

    List<String> presentValueNames() {
        return presentValues;
    }

    OrtEnvironment environment() {
        return env;
    }

    void checkTokens(ImmutableIntArray ids, String what) {
        for (int i = 0; i < ids.length(); i++) {
            if (ids.get(i) < 0 || ids.get(i) >= manifest.vocabSize()) {
                throw new IllegalArgumentException(what + ": token " + i + " is id " + ids.get(i)
                        + ", outside the vocabulary [0, " + manifest.vocabSize() + ")");
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

    /** Positions [from, from + seq) for each of {@code batch} rows. */
    static LongBuffer positions(ScratchBuffers scratch, String slot, int from, int seq, int batch) {
        LongBuffer b = scratch.longs(slot, (long) seq * batch);
        for (int r = 0; r < batch; r++) {
            for (int i = 0; i < seq; i++) {
                b.put(r * seq + i, from + i);
            }
        }
        return b;
    }

    static FloatBuffer directFloats(long n) {
        return ByteBuffer.allocateDirect(Math.toIntExact(4 * n)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }


    private static String sha256(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(p);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void closeQuietly(OrtSession s) {
        try {
            s.close();
        } catch (OrtException e) {
            LOG.warn("closing an ONNX Runtime session failed: {}", e.getMessage());
        }
    }

    /** The declared inputs and outputs of the three graphs against the manifest. */
    static final class GraphContract {
        private GraphContract() {
        }

        static void check(ModelManifest m, OnnxModel visionModel, OnnxModel embedModel, OnnxModel decoderModel)
                throws IOException {
            ModelManifest.Io io = m.io();
            long d = m.hiddenSize();
            long s = m.imageSize();
            expect(visionModel, true, io.pixelValues(), "FLOAT", 1, 3, s, s);
            expect(visionModel, false, io.imageFeatures(), "FLOAT", 1, m.imageTokens(), d);
            expect(embedModel, true, io.inputIds(), "INT64", -1, -1);
            expect(embedModel, false, io.inputsEmbeds(), "FLOAT", -1, -1, d);
            expect(decoderModel, true, io.inputsEmbeds(), "FLOAT", -1, -1, d);
            expect(decoderModel, true, io.attentionMask(), "INT64", -1, -1);
            expect(decoderModel, true, io.positionIds(), "INT64", -1, -1);
            for (int i = 0; i < m.layers(); i++) {
                for (String name : new String[] {io.pastKey(), io.pastValue()}) {
                    expect(decoderModel, true, String.format(name, i), "FLOAT", -1, m.kvHeads(), -1, m.headDim());
                }
                for (String name : new String[] {io.presentKey(), io.presentValue()}) {
                    expect(decoderModel, false, String.format(name, i), "FLOAT", -1, m.kvHeads(), -1, m.headDim());
                }
            }
            expect(decoderModel, false, io.logits(), "FLOAT", -1, -1, m.vocabSize());
            // more past inputs than the manifest's layers would fail only at the first decode step: refuse now
            String[] parts = io.pastKey().split("%d", -1);
            java.util.regex.Pattern pastKey = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(parts[0])
                    + "(\\d+)" + java.util.regex.Pattern.quote(parts[1]));
            long graphLayers = decoderModel.inputs().stream().filter(t -> pastKey.matcher(t.name()).matches()).count();
            if (graphLayers != m.layers()) {
                throw new IOException(decoderModel.source() + " has " + graphLayers + " past-key inputs ("
                        + io.pastKey() + ") but the manifest's field layers says " + m.layers());
            }
        }

        /** Fails when the value is missing, has another element type, or a fixed dimension that differs. */
        private static void expect(OnnxModel model, boolean input, String name, String type, long... dims)
                throws IOException {
            List<TensorInfo> declared = input ? model.inputs() : model.outputs();
            TensorInfo info = declared.stream().filter(t -> t.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IOException(model.source() + " has no " + (input ? "input " : "output ") + name
                            + " (it has " + declared.stream().map(TensorInfo::name).toList() + ")"));
            String expected = expectedText(dims);
            if (!info.elementType().equals(type)) {
                throw new IOException(model.source() + ": " + (input ? "input " : "output ") + name + " is "
                        + info.elementType() + " " + info.shapeText() + " but the policy expects " + type + " " + expected);
            }
            boolean mismatch = !info.dims().isEmpty() && info.dims().size() != dims.length;
            for (int i = 0; !mismatch && i < info.dims().size(); i++) {
                mismatch = dims[i] >= 0 && info.dims().get(i) >= 0 && info.dims().get(i) != dims[i];
            }
            if (mismatch) {
                throw new IOException(model.source() + ": " + (input ? "input " : "output ") + name + " has shape "
                        + info.shapeText() + " but the manifest implies " + expected);
            }
        }

        private static String expectedText(long... dims) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < dims.length; i++) {
                sb.append(i > 0 ? ", " : "").append(dims[i] >= 0 ? String.valueOf(dims[i]) : "?");
            }
            return sb.append(']').toString();
        }
    }
}
