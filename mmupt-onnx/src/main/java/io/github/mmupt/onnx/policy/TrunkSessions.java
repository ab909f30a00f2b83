package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.onnx.family.EncodedPrompt;
import io.github.mmupt.onnx.family.FeedTensor;
import io.github.mmupt.onnx.family.GraphNames;
import io.github.mmupt.onnx.family.ImageSlot;
import io.github.mmupt.onnx.family.TrunkShape;
import io.github.mmupt.onnx.family.VisionFeed;
import io.github.mmupt.onnx.model.Float16;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The three ONNX Runtime sessions of a trunk (vision encoder, token embeddings, decoder with a KV cache) and
 * the runs of them, the same for every model family: names and dimensions come from the family, inputs go in
 * as direct buffers without copies, and outputs are pinned into reused buffers where their shape is known.
 *
 * <p>fp16 sessions: whichever float tensors a graph declares as float16 (pixel values, image features,
 * embeddings, hidden states, the KV cache) are converted here and nowhere else. Pixels and embeddings are
 * narrowed once on the way in, features, embeddings and hidden states widened once on the way out into the
 * float32 buffers the rest of the library reads; the KV cache is never converted: its float16 presents are fed
 * back as they came ({@link KvCache} copies them as raw elements when it stacks or compacts a batch).
 *
 * <p>Owns the sessions ({@link #close()} frees them). One thread at a time; a returned buffer is valid until the
 * next call that uses the same slot.
 */
final class TrunkSessions implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TrunkSessions.class);

    private final OrtEnvironment env;
    private final OrtSession vision;
    private final OrtSession embed;
    private final OrtSession decoder;
    private final GraphNames names;
    private final TrunkShape shape;
    private final RunListener listener;
    private final List<String> pastKeys = new ArrayList<>();
    private final List<String> pastValues = new ArrayList<>();
    private final List<String> presentKeys = new ArrayList<>();
    private final List<String> presentValues = new ArrayList<>();
    private final Set<String> presentNames = new LinkedHashSet<>();
    /** Transient inputs and outputs of the runs, reused from call to call (see {@link ScratchBuffers}). */
    private final ScratchBuffers scratch = new ScratchBuffers();
    /** The float tensors each graph declares as float16, by name. */
    private final Set<String> halfVisionInputs = new java.util.HashSet<>();
    private final boolean halfFeatures;
    private final boolean halfEmbedsOut;
    private final boolean halfEmbedsIn;
    private final boolean halfHidden;
    private final OnnxJavaType kvType;
    /** Extra decoder inputs fed at every run: a LoRA's adapters (current, or zero for the reference). */
    private Map<String, OnnxTensor> adapterFeed = Map.of();

    TrunkSessions(OrtEnvironment env, OrtSession vision, OrtSession embed, OrtSession decoder, GraphNames names,
            TrunkShape shape, RunListener listener) {
        this.env = env;
        this.vision = vision;
        this.embed = embed;
        this.decoder = decoder;
        this.names = names;
        this.shape = shape;
        this.listener = listener;
        for (int i = 0; i < shape.layers(); i++) {
            pastKeys.add(names.pastKey(i));
            pastValues.add(names.pastValue(i));
            presentKeys.add(names.presentKey(i));
            presentValues.add(names.presentValue(i));
        }
        presentNames.addAll(presentKeys);
        presentNames.addAll(presentValues);
        try {
            for (Map.Entry<String, ai.onnxruntime.NodeInfo> e : vision.getInputInfo().entrySet()) {
                if (isHalf(e.getValue())) {
                    halfVisionInputs.add(e.getKey());
                }
            }
            halfFeatures = isHalf(vision.getOutputInfo().get(names.imageFeatures()));
            halfEmbedsOut = isHalf(embed.getOutputInfo().get(names.inputsEmbeds()));
            halfEmbedsIn = isHalf(decoder.getInputInfo().get(names.inputsEmbeds()));
            halfHidden = isHalf(decoder.getOutputInfo().get(OnnxPolicy.HIDDEN_OUTPUT));
            kvType = shape.layers() > 0 && isHalf(decoder.getInputInfo().get(pastKeys.get(0))) ? OnnxJavaType.FLOAT16
                    : OnnxJavaType.FLOAT;
        } catch (OrtException e) {
            throw new IllegalStateException("could not read the sessions' input and output types: " + e.getMessage(), e);
        }
    }

    private static boolean isHalf(ai.onnxruntime.NodeInfo info) {
        return info != null && info.getInfo() instanceof ai.onnxruntime.TensorInfo t && t.type == OnnxJavaType.FLOAT16;
    }

    /**
     * Sets the extra inputs every decoder run is fed from now on (a LoRA trunk's adapters); the caller owns them.
     *
     * @return the feed it replaces
     */
    Map<String, OnnxTensor> adapterFeed(Map<String, OnnxTensor> feed) {
        Map<String, OnnxTensor> before = adapterFeed;
        adapterFeed = Map.copyOf(feed);
        return before;
    }

    /** FLOAT or FLOAT16: how the decoder keeps its KV cache. */
    OnnxJavaType kvType() {
        return kvType;
    }

    /** {@return bytes per element of the KV cache} */
    int kvElementBytes() {
        return kvType == OnnxJavaType.FLOAT16 ? 2 : 4;
    }

    /** {@return whether any of the trunk's float tensors is float16} */
    boolean anyHalf() {
        return halfFeatures || halfEmbedsOut || halfEmbedsIn || halfHidden || kvType == OnnxJavaType.FLOAT16
                || !halfVisionInputs.isEmpty();
    }

    /**
     * A float input as the graph wants it: the buffer itself for float32, or narrowed once into the slot for
     * float16.
     */
    private OnnxTensor floatInput(FloatBuffer values, long[] dims, boolean half, String slot) throws OrtException {
        if (!half) {
            return OnnxTensor.createTensor(env, values, dims);
        }
        int n = values.remaining();
        ByteBuffer bytes = scratch.bytes(slot, 2L * n);
        Float16.narrow(values.duplicate(), bytes.asShortBuffer(), n);
        return OnnxTensor.createTensor(env, bytes, dims, OnnxJavaType.FLOAT16);
    }

    /** An output pinned into {@code out} (float32), or into a float16 slot that {@link Pinned#deliver} widens. */
    private Pinned pin(FloatBuffer out, long[] dims, boolean half, String slot) throws OrtException {
        if (!half) {
            return new Pinned(OnnxTensor.createTensor(env, out, dims), null, out);
        }
        ByteBuffer bytes = scratch.bytes(slot, 2L * out.remaining());
        return new Pinned(OnnxTensor.createTensor(env, bytes, dims, OnnxJavaType.FLOAT16), bytes, out);
    }

    /** A pinned output and, for float16, where its bits land before they are widened into {@code out}. */
    private record Pinned(OnnxTensor tensor, ByteBuffer half, FloatBuffer out) implements AutoCloseable {
        void deliver() {
            if (half != null) {
                FloatBuffer to = out.duplicate();
                Float16.widen(half.asShortBuffer(), to, to.remaining());
            }
        }

        @Override
        public void close() {
            tensor.close();
        }
    }

    OrtEnvironment environment() {
        return env;
    }

    TrunkShape shape() {
        return shape;
    }

    List<String> presentKeyNames() {
        return presentKeys;
    }

    List<String> presentValueNames() {
        return presentValues;
    }

    /** [P x d] embeddings of a prompt, each image's rows replaced by the vision encoder's features. */
    FloatBuffer promptEmbeddings(EncodedPrompt prompt) {
        int d = shape.hiddenSize();
        FloatBuffer embeds = tokenEmbeddings(prompt.ids(), 1, prompt.ids().length(), "prompt-embeds");
        for (ImageSlot slot : prompt.images()) {
            FloatBuffer features = imageFeatures(slot.feed());
            embeds.position(slot.start() * d);
            embeds.put(features);
        }
        embeds.clear();
        return embeds;
    }

    /**
     * [B*S x d] embeddings of token ids (row-major [B, S]) in the slot's reused direct buffer, valid until the
     * next call for the same slot.
     */
    FloatBuffer tokenEmbeddings(ImmutableIntArray ids, int batch, int seq, String slot) {
        LongBuffer idBuf = scratch.longs("token-ids", (long) batch * seq);
        for (int i = 0; i < ids.length(); i++) {
            idBuf.put(i, ids.get(i));
        }
        int d = shape.hiddenSize();
        FloatBuffer out = scratch.floats(slot, (long) batch * seq * d);
        try (OnnxTensor in = OnnxTensor.createTensor(env, idBuf, new long[] {batch, seq});
                Pinned pinned = pin(out, new long[] {batch, seq, d}, halfEmbedsOut, "half-" + slot)) {
            long t0 = System.nanoTime();
            try (OrtSession.Result r = embed.run(Map.of(names.inputIds(), in), Set.of(),
                    Map.of(names.inputsEmbeds(), pinned.tensor()))) {
                listener.graphRan("embed", System.nanoTime() - t0);
            }
            pinned.deliver();
        } catch (OrtException e) {
            throw new IllegalStateException("the embedding graph failed: " + e.getMessage(), e);
        }
        return out;
    }

    /** [rows x d] features of one image. */
    private FloatBuffer imageFeatures(VisionFeed feed) {
        FloatBuffer out = scratch.floats("image-features", (long) feed.rows() * shape.hiddenSize());
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (int k = 0; k < feed.inputs().size(); k++) {
                // copied into reused direct slots: a heap buffer would make ONNX Runtime allocate direct memory per call
                FeedTensor t = feed.inputs().get(k);
                inputs.put(t.name(), t.floats() != null
                        ? floatInput(scratch.floats("vision-in-" + k, t.floats().length).put(t.floats()).clear(),
                                t.shape(), halfVisionInputs.contains(t.name()), "half-vision-in-" + k)
                        : OnnxTensor.createTensor(env, scratch.longs("vision-in-" + k, t.longs().length).put(t.longs())
                                .clear(), t.shape()));
            }
            try (Pinned pinned = pin(out, feed.outputShape(), halfFeatures, "half-image-features")) {
                long t0 = System.nanoTime();
                try (OrtSession.Result r = vision.run(inputs, Set.of(), Map.of(feed.output(), pinned.tensor()))) {
                    listener.graphRan("vision", System.nanoTime() - t0);
                }
                pinned.deliver();
            }
        } catch (OrtException e) {
            // a graph whose rows differ from the image's tokens fails here: say what the prompt laid out
            throw new IllegalStateException("the vision graph failed on an image the prompt gave " + feed.rows()
                    + " image tokens (expected output " + feed.output() + " " + java.util.Arrays.toString(feed.outputShape())
                    + "): " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
        return out;
    }

    /**
     * One decoder run over {@code seq} new positions of {@code batch} sequences after the cache; the hidden
     * states [batch x seq x d] go into {@code hiddenOut} (pinned), the presents stay in the returned result,
     * which the caller closes after their last use.
     *
     * @param positions laid out by {@link PositionIds} for {@code axes} axes
     */
    OrtSession.Result runDecoder(FloatBuffer embeds, int batch, int seq, LongBuffer mask, LongBuffer positions,
            int axes, KvCache past, FloatBuffer hiddenOut) {
        int d = shape.hiddenSize();
        long total = (long) past.length() + seq;
        Map<String, OnnxTensor> inputs = new HashMap<>();
        List<OnnxTensor> created = new ArrayList<>();
        try {
            created.add(put(inputs, names.inputsEmbeds(), floatInput(embeds, new long[] {batch, seq, d}, halfEmbedsIn,
                    "half-decoder-embeds")));
            created.add(put(inputs, names.attentionMask(), OnnxTensor.createTensor(env, mask,
                    new long[] {batch, total})));
            created.add(put(inputs, names.positionIds(), OnnxTensor.createTensor(env, positions,
                    PositionIds.shape(axes, batch, seq))));
            for (int i = 0; i < shape.layers(); i++) {
                inputs.put(pastKeys.get(i), past.key(i));
                inputs.put(pastValues.get(i), past.value(i));
            }
            inputs.putAll(adapterFeed);
            Pinned pinned = pin(hiddenOut, new long[] {batch, seq, d}, halfHidden, "half-decoder-hidden");
            created.add(pinned.tensor());
            long t0 = System.nanoTime();
            OrtSession.Result r = decoder.run(inputs, presentNames,
                    Map.<String, OnnxValue>of(OnnxPolicy.HIDDEN_OUTPUT, pinned.tensor()));
            listener.graphRan("decoder", System.nanoTime() - t0);
            pinned.deliver();
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

    @Override
    public void close() {
        closeQuietly(decoder);
        closeQuietly(embed);
        closeQuietly(vision);
    }

    static void closeQuietly(OrtSession s) {
        try {
            s.close();
        } catch (OrtException e) {
            LOG.warn("closing an ONNX Runtime session failed: {}", e.getMessage());
        }
    }
}
