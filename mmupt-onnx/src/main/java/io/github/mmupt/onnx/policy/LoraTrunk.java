package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.adapter.AdapterParameters;
import io.github.mmupt.adapter.TrunkAdapters;
import io.github.mmupt.onnx.family.GraphNames;
import io.github.mmupt.onnx.family.ModelFamily;
import io.github.mmupt.onnx.grad.GradientGraph;
import io.github.mmupt.onnx.lora.LoraGraph;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.lora.LoraTarget;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.policy.HiddenStates;
import io.github.mmupt.policy.PromptResponse;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The LoRA adapters of an {@link OnnxPolicy}'s decoder: their values (fed to every decoder run, so sampling and
 * scoring see the current adapters), the zero adapters of the reference policy, and the gradient session derived
 * from the rewritten decoder ({@link GradientGraph}), which takes the head's dL/dh and gives every adapter's
 * gradient. The forward pass is recomputed inside the gradient graph, one sequence at a time, so nothing is kept
 * between the scoring run and the backward run.
 *
 * <p>Initialisation as PEFT's: A uniform in +-1/sqrt(in) (Kaiming-uniform with a = sqrt(5)), drawn from the
 * settings' seed in the order of the targets; B zero, so the adapted model starts as the base model bit for bit.
 *
 * <p>Owns the gradient session and the adapter tensors; {@link #close()} frees them (the policy calls it).
 */
final class LoraTrunk implements TrunkAdapters, AutoCloseable {

    private final OnnxPolicy policy;
    private final LoraGraph graph;
    private final OrtSession gradients;
    private final String seedInput;
    private final List<String> gradientOutputs = new ArrayList<>();
    private final AdapterParameters parameters;
    private final Map<String, OnnxTensor> current = new LinkedHashMap<>();
    private final Map<String, OnnxTensor> zero = new LinkedHashMap<>();
    private final ScratchBuffers scratch = new ScratchBuffers();

    /**
     * The rewritten decoder as the gradient graph is built from it: the backward pass runs whole sequences with
     * empty past caches (see {@link #backward}), so their length axis is declared 0, which lets the builder prove
     * that attention's scores are never broadcast rather than sum them at run time.
     */
    static OnnxModel withoutCache(OnnxModel decoder, ModelFamily family) throws IOException {
        List<String> past = new ArrayList<>();
        for (int i = 0; i < family.shape().layers(); i++) {
            past.add(family.names().pastKey(i));
            past.add(family.names().pastValue(i));
        }
        return past.isEmpty() ? decoder : decoder.withInputDimension(past, KvCache.LENGTH_AXIS, 0);
    }

    LoraTrunk(OnnxPolicy policy, LoraGraph graph, GradientGraph gradientGraph, OrtSession gradients) {
        this.policy = policy;
        this.graph = graph;
        this.gradients = gradients;
        this.seedInput = gradientGraph.seedInputs().get(OnnxPolicy.HIDDEN_OUTPUT);
        LoraSettings settings = graph.settings();
        Map<String, float[]> initial = new LinkedHashMap<>();
        SplittableRandom random = new SplittableRandom(settings.seed());
        for (LoraTarget t : graph.targets()) {
            float[] a = new float[settings.rank() * t.inFeatures()];
            double bound = 1.0 / Math.sqrt(t.inFeatures());
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextDouble(-bound, bound);
            }
            initial.put(t.aInput(), a);
            initial.put(t.bInput(), new float[t.outFeatures() * settings.rank()]);
        }
        // rank and targets show in names and sizes; alpha does not, so a state records it and is refused elsewhere
        this.parameters = new AdapterParameters(initial, settings.learningRateScale(), "LoRA rank " + settings.rank()
                + ", alpha " + settings.alpha());
        try {
            var env = policy.sessions().environment();
            for (LoraTarget t : graph.targets()) {
                long[] aShape = {settings.rank(), t.inFeatures()};
                long[] bShape = {t.outFeatures(), settings.rank()};
                // backed by the parameters' direct buffers: an update is seen by the next run without a copy
                current.put(t.aInput(), OnnxTensor.createTensor(env, parameters.liveValues(parameters.index(t.aInput())),
                        aShape));
                current.put(t.bInput(), OnnxTensor.createTensor(env, parameters.liveValues(parameters.index(t.bInput())),
                        bShape));
                zero.put(t.aInput(), OnnxTensor.createTensor(env, OnnxPolicy.directFloats(aShape[0] * aShape[1]), aShape));
                zero.put(t.bInput(), OnnxTensor.createTensor(env, OnnxPolicy.directFloats(bShape[0] * bShape[1]), bShape));
                gradientOutputs.add(gradientGraph.gradientOutputs().get(t.aInput()));
                gradientOutputs.add(gradientGraph.gradientOutputs().get(t.bInput()));
            }
        } catch (OrtException e) {
            closeTensors(); // the gradient session is among the policy's opened sessions, which the caller closes
            throw new IllegalStateException("could not create the adapter tensors: " + e.getMessage(), e);
        }
        policy.sessions().adapterFeed(current);
    }

    /** {@return the rewritten decoder's adapted projections} */
    List<LoraTarget> targets() {
        return graph.targets();
    }

    /** {@return the rank, alpha and projections} */
    LoraSettings settings() {
        return graph.settings();
    }

    @Override
    public AdapterParameters parameters() {
        return parameters;
    }

    @Override
    public HiddenStates referenceHiddenStates(List<PromptResponse> sequences) {
        TrunkSessions sessions = policy.sessions();
        Map<String, OnnxTensor> before = sessions.adapterFeed(zero);
        try {
            return policy.responseHiddenStates(sequences);
        } finally {
            sessions.adapterFeed(before);
        }
    }

    @Override
    public void backward(List<PromptResponse> sequences, HiddenStates gradHidden) {
        int d = policy.spec().hiddenSize();
        long rows = 0;
        for (PromptResponse pr : sequences) {
            rows += pr.responseTokens().length();
        }
        if (gradHidden.hiddenSize() != d || gradHidden.tokens() != rows) {
            throw new IllegalArgumentException("dL/dh is [" + gradHidden.tokens() + " x " + gradHidden.hiddenSize()
                    + "], the " + sequences.size() + " sequences have " + rows + " response tokens of width d=" + d);
        }
        // sequences of one length share a run: no padding, so each one's result is what it would be alone, and a
        // group's responses (one prompt, answers of a few lengths) take a few runs instead of one each
        Map<Integer, Batch> open = new LinkedHashMap<>();
        int at = 0;
        long held = 0;
        for (PromptResponse pr : sequences) {
            OnnxPolicy.SequenceFeed feed = policy.feed(pr);
            Batch batch = open.computeIfAbsent(feed.total(), t -> new Batch(t, d, feed.axes()));
            batch.add(pr, feed, gradHidden, at, d);
            at += feed.responseTokens();
            held += feed.total();
            if (batch.full()) {
                held -= (long) batch.members.size() * batch.total;
                run(open.remove(feed.total()), d);
            }
            if (held > 2L * BATCH_TOKENS) {
                // copies held for batches of many lengths: bounded, so memory stays per run, not per micro-batch
                for (Batch b : open.values()) {
                    run(b, d);
                }
                open.clear();
                held = 0;
            }
        }
        for (Batch batch : open.values()) {
            run(batch, d);
        }
    }

    /** Tokens per gradient run: a batch of sequences of one length stays within this many positions. */
    static final int BATCH_TOKENS = 4096;

    /** Sequences of one length gathered for one gradient run: their embeddings, positions and dL/dh seeds. */
    private static final class Batch {
        final int total;
        final int axes;
        final int capacity;
        final List<PromptResponse> members = new ArrayList<>();
        final List<float[]> embeds = new ArrayList<>();
        final List<float[]> seeds = new ArrayList<>();
        final List<long[]> positions = new ArrayList<>();

        Batch(int total, int d, int axes) {
            this.total = total;
            this.axes = axes;
            this.capacity = Math.max(1, BATCH_TOKENS / total);
        }

        /** Copies one sequence's feed (the policy's scratch, reused by its next call) and its seed rows. */
        void add(PromptResponse pr, OnnxPolicy.SequenceFeed feed, HiddenStates gradHidden, int at, int d) {
            float[] e = new float[total * d];
            feed.embeds().duplicate().get(e);
            // dL/dh of every position: the rows predicting response tokens, zero elsewhere (the prompt's last
            // positions but one, and the last position, which predicts nothing trained on)
            float[] seed = new float[total * d];
            FloatBuffer from = gradHidden.values().duplicate();
            from.position(at * d).limit((at + feed.responseTokens()) * d);
            from.get(seed, feed.firstRow() * d, feed.responseTokens() * d);
            long[] pos = new long[axes * total];
            feed.positions().duplicate().get(pos);
            members.add(pr);
            embeds.add(e);
            seeds.add(seed);
            positions.add(pos);
        }

        boolean full() {
            return members.size() >= capacity;
        }
    }

    private void run(Batch batch, int d) {
        TrunkSessions sessions = policy.sessions();
        GraphNames names = policy.family().names();
        var env = sessions.environment();
        int rows = batch.members.size();
        int total = batch.total;
        FloatBuffer embeds = scratch.floats("embeds", (long) rows * total * d);
        FloatBuffer seed = scratch.floats("seed", (long) rows * total * d);
        LongBuffer positions = scratch.longs("positions", (long) batch.axes * rows * total);
        for (int b = 0; b < rows; b++) {
            embeds.put(b * total * d, batch.embeds.get(b));
            seed.put(b * total * d, batch.seeds.get(b));
            long[] pos = batch.positions.get(b);
            for (int a = 0; a < batch.axes; a++) {
                positions.put((a * rows + b) * total, pos, a * total, total);
            }
        }
        Map<String, OnnxTensor> inputs = new HashMap<>(current);
        List<OnnxTensor> created = new ArrayList<>();
        try (KvCache empty = KvCache.empty(sessions, rows)) {
            created.add(put(inputs, names.inputsEmbeds(), OnnxTensor.createTensor(env, embeds, new long[] {rows, total, d})));
            created.add(put(inputs, names.attentionMask(), OnnxTensor.createTensor(env,
                    OnnxPolicy.ones(scratch, "mask", rows * total), new long[] {rows, total})));
            created.add(put(inputs, names.positionIds(), OnnxTensor.createTensor(env, positions,
                    PositionIds.shape(batch.axes, rows, total))));
            for (int i = 0; i < sessions.shape().layers(); i++) {
                inputs.put(names.pastKey(i), empty.key(i));
                inputs.put(names.pastValue(i), empty.value(i));
            }
            created.add(put(inputs, seedInput, OnnxTensor.createTensor(env, seed, new long[] {rows, total, d})));
            try (OrtSession.Result r = gradients.run(inputs, Set.copyOf(gradientOutputs))) {
                for (int k = 0; k < gradientOutputs.size(); k++) {
                    OnnxValue v = r.get(gradientOutputs.get(k)).orElseThrow();
                    parameters.addGradient(k, ((OnnxTensor) v).getFloatBuffer());
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException("the adapters' gradient graph failed on " + rows + " sequences of " + total
                    + " positions (first: prompt " + batch.members.get(0).prompt().id() + "): " + e.getMessage(), e);
        } finally {
            created.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor put(Map<String, OnnxTensor> inputs, String name, OnnxTensor t) {
        inputs.put(name, t);
        return t;
    }

    private void closeTensors() {
        current.values().forEach(OnnxTensor::close);
        zero.values().forEach(OnnxTensor::close);
    }

    @Override
    public void close() {
        closeTensors();
        TrunkSessions.closeQuietly(gradients);
    }
}
