package io.github.mmupt.onnx.policy;

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
                OnnxTensor pinned = OnnxTensor.createTensor(env, out, new long[] {batch, seq, d})) {
            long t0 = System.nanoTime();
            try (OrtSession.Result r = embed.run(Map.of(names.inputIds(), in), Set.of(),
                    Map.of(names.inputsEmbeds(), pinned))) {
                listener.graphRan("embed", System.nanoTime() - t0);
            }
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
                        ? OnnxTensor.createTensor(env, scratch.floats("vision-in-" + k, t.floats().length).put(t.floats())
                                .clear(), t.shape())
                        : OnnxTensor.createTensor(env, scratch.longs("vision-in-" + k, t.longs().length).put(t.longs())
                                .clear(), t.shape()));
            }
            try (OnnxTensor pinned = OnnxTensor.createTensor(env, out, feed.outputShape())) {
                long t0 = System.nanoTime();
                try (OrtSession.Result r = vision.run(inputs, Set.of(), Map.of(feed.output(), pinned))) {
                    listener.graphRan("vision", System.nanoTime() - t0);
                }
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
            created.add(put(inputs, names.inputsEmbeds(), OnnxTensor.createTensor(env, embeds,
                    new long[] {batch, seq, d})));
            created.add(put(inputs, names.attentionMask(), OnnxTensor.createTensor(env, mask,
                    new long[] {batch, total})));
            created.add(put(inputs, names.positionIds(), OnnxTensor.createTensor(env, positions,
                    PositionIds.shape(axes, batch, seq))));
            for (int i = 0; i < shape.layers(); i++) {
                inputs.put(pastKeys.get(i), past.key(i));
                inputs.put(pastValues.get(i), past.value(i));
            }
            OnnxTensor pinned = OnnxTensor.createTensor(env, hiddenOut, new long[] {batch, seq, d});
            created.add(pinned);
            long t0 = System.nanoTime();
            OrtSession.Result r = decoder.run(inputs, presentNames,
                    Map.<String, OnnxValue>of(OnnxPolicy.HIDDEN_OUTPUT, pinned));
            listener.graphRan("decoder", System.nanoTime() - t0);
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
