package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.onnx.family.TrunkShape;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The past keys and values of a decoder, [batch x kvHeads x length x headDim] per layer, as ONNX Runtime
 * tensors that are fed straight back as the next step's inputs (no copy through Java). Owns what holds them:
 * the decoder run's result, or tensors it created; {@link #close()} frees them.
 */
final class KvCache implements AutoCloseable {

    /** The data of every zero-length tensor: one shared empty buffer, not a new one per cache. */
    private static final FloatBuffer NO_FLOATS = OnnxPolicy.directFloats(0);

    private final List<OnnxTensor> keys;
    private final List<OnnxTensor> values;
    private final int length;
    private final int batch;
    private final AutoCloseable owner;

    private KvCache(List<OnnxTensor> keys, List<OnnxTensor> values, int length, int batch, AutoCloseable owner) {
        this.keys = keys;
        this.values = values;
        this.length = length;
        this.batch = batch;
        this.owner = owner;
    }

    /** Zero-length caches, for a prefill or a full recomputation. */
    static KvCache empty(TrunkSessions sessions, int batch) {
        TrunkShape m = sessions.shape();
        List<OnnxTensor> created = new ArrayList<>();
        try {
            long[] shape = {batch, m.kvHeads(), 0, m.headDim()};
            List<OnnxTensor> k = new ArrayList<>();
            List<OnnxTensor> v = new ArrayList<>();
            for (int i = 0; i < m.layers(); i++) {
                k.add(track(created, OnnxTensor.createTensor(sessions.environment(), NO_FLOATS, shape)));
                v.add(track(created, OnnxTensor.createTensor(sessions.environment(), NO_FLOATS, shape)));
            }
            return new KvCache(k, v, 0, batch, () -> created.forEach(OnnxTensor::close));
        } catch (OrtException e) {
            created.forEach(OnnxTensor::close);
            throw new IllegalStateException("could not create an empty KV cache: " + e.getMessage(), e);
        }
    }

    /** The presents of a decoder run, which now belongs to the cache. */
    static KvCache of(TrunkSessions sessions, OrtSession.Result result, int length, int batch) {
        List<OnnxTensor> k = new ArrayList<>();
        List<OnnxTensor> v = new ArrayList<>();
        for (int i = 0; i < sessions.shape().layers(); i++) {
            k.add((OnnxTensor) result.get(sessions.presentKeyNames().get(i)).orElseThrow());
            v.add((OnnxTensor) result.get(sessions.presentValueNames().get(i)).orElseThrow());
        }
        return new KvCache(k, v, length, batch, result);
    }

    /**
     * A batch-1 cache repeated {@code n} times along the batch: one copy, once per prompt, into slots of
     * {@code scratch}, which must not be reused before the tiled cache is closed.
     */
    KvCache tiled(TrunkSessions sessions, int n, ScratchBuffers scratch) {
        if (batch != 1) {
            throw new IllegalStateException("only a batch of one is tiled, this cache has " + batch);
        }
        TrunkShape m = sessions.shape();
        long[] shape = {n, m.kvHeads(), length, m.headDim()};
        List<OnnxTensor> created = new ArrayList<>();
        try {
            List<OnnxTensor> k = new ArrayList<>();
            List<OnnxTensor> v = new ArrayList<>();
            for (int i = 0; i < m.layers(); i++) {
                k.add(track(created, OnnxTensor.createTensor(sessions.environment(),
                        repeat(keys.get(i), n, scratch, "tiled-key-" + i), shape)));
                v.add(track(created, OnnxTensor.createTensor(sessions.environment(),
                        repeat(values.get(i), n, scratch, "tiled-value-" + i), shape)));
            }
            return new KvCache(k, v, length, n, () -> created.forEach(OnnxTensor::close));
        } catch (OrtException e) {
            created.forEach(OnnxTensor::close);
            throw new IllegalStateException("could not tile the KV cache: " + e.getMessage(), e);
        }
    }

    private static FloatBuffer repeat(OnnxTensor t, int n, ScratchBuffers scratch, String slot) {
        FloatBuffer one = t.getFloatBuffer();
        FloatBuffer out = scratch.floats(slot, (long) one.remaining() * n);
        for (int r = 0; r < n; r++) {
            out.put(one.duplicate());
        }
        return out.flip();
    }

    private static OnnxTensor track(List<OnnxTensor> created, OnnxTensor t) {
        created.add(t);
        return t;
    }

    OnnxTensor key(int layer) {
        return keys.get(layer);
    }

    OnnxTensor value(int layer) {
        return values.get(layer);
    }

    int length() {
        return length;
    }

    int batch() {
        return batch;
    }

    @Override
    public void close() {
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not free a KV cache: " + e.getMessage(), e);
        }
    }
}
