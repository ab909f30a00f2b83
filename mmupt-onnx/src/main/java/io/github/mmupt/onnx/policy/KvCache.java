package io.github.mmupt.onnx.policy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.onnx.family.TrunkShape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The past keys and values of a decoder, [batch x kvHeads x length x headDim] per layer, as ONNX Runtime
 * tensors that are fed straight back as the next step's inputs (no copy through Java), in the decoder's own
 * element type (float32 or float16, never converted: stacking and compaction copy raw elements). Owns what
 * holds them: the decoder run's result, or tensors it created; {@link #close()} frees them.
 */
final class KvCache implements AutoCloseable {

    /** The axis of a key or value tensor that holds positions: [batch, kv heads, length, head dim]. */
    static final int LENGTH_AXIS = 2;

    /** The data of every zero-length tensor: one shared empty buffer, not a new one per cache. */
    private static final ByteBuffer NO_BYTES = ByteBuffer.allocateDirect(0).order(ByteOrder.nativeOrder());

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
            long[] shape = {batch, m.kvHeads(), 0, m.headDim()}; // length at LENGTH_AXIS
            List<OnnxTensor> k = new ArrayList<>();
            List<OnnxTensor> v = new ArrayList<>();
            for (int i = 0; i < m.layers(); i++) {
                k.add(track(created, OnnxTensor.createTensor(sessions.environment(), NO_BYTES, shape, sessions.kvType())));
                v.add(track(created, OnnxTensor.createTensor(sessions.environment(), NO_BYTES, shape, sessions.kvType())));
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
     * Batch-1 caches of several prompts, each repeated {@code n} times along the batch, in one cache of
     * {@code length} positions: a shorter prompt's rows are left-padded with zeros, which the attention mask of
     * every later step hides. One copy per prompt, into slots of {@code scratch}, which must not be reused before
     * the stacked cache is closed.
     */
    static KvCache stacked(TrunkSessions sessions, List<KvCache> singles, int n, int length, ScratchBuffers scratch) {
        TrunkShape m = sessions.shape();
        for (KvCache c : singles) {
            if (c.batch != 1 || c.length > length) {
                throw new IllegalStateException("only batch-1 caches of at most " + length + " positions are stacked, "
                        + "got batch " + c.batch + " of length " + c.length);
            }
        }
        int rows = singles.size() * n;
        long[] shape = {rows, m.kvHeads(), length, m.headDim()};
        List<OnnxTensor> created = new ArrayList<>();
        try {
            List<OnnxTensor> k = new ArrayList<>();
            List<OnnxTensor> v = new ArrayList<>();
            for (int i = 0; i < m.layers(); i++) {
                int layer = i;
                k.add(track(created, OnnxTensor.createTensor(sessions.environment(), stack(singles,
                        c -> c.keys.get(layer), n, length, m, sessions.kvElementBytes(), scratch, "stacked-key-" + i),
                        shape, sessions.kvType())));
                v.add(track(created, OnnxTensor.createTensor(sessions.environment(), stack(singles,
                        c -> c.values.get(layer), n, length, m, sessions.kvElementBytes(), scratch, "stacked-value-" + i),
                        shape, sessions.kvType())));
            }
            return new KvCache(k, v, length, rows, () -> created.forEach(OnnxTensor::close));
        } catch (OrtException e) {
            created.forEach(OnnxTensor::close);
            throw new IllegalStateException("could not stack the KV caches: " + e.getMessage(), e);
        }
    }

    /**
     * The rows {@code keep} (ascending) of this cache in a new one, copied into slots of {@code scratch} named
     * after {@code slot}, which must differ from the slots this cache itself lives in.
     */
    KvCache gather(TrunkSessions sessions, int[] keep, ScratchBuffers scratch, String slot) {
        TrunkShape m = sessions.shape();
        long[] shape = {keep.length, m.kvHeads(), length, m.headDim()};
        int rowSize = m.kvHeads() * length * m.headDim() * sessions.kvElementBytes();
        List<OnnxTensor> created = new ArrayList<>();
        try {
            List<OnnxTensor> k = new ArrayList<>();
            List<OnnxTensor> v = new ArrayList<>();
            for (int i = 0; i < m.layers(); i++) {
                k.add(track(created, OnnxTensor.createTensor(sessions.environment(),
                        rows(keys.get(i), keep, rowSize, scratch, slot + "-key-" + i), shape, sessions.kvType())));
                v.add(track(created, OnnxTensor.createTensor(sessions.environment(),
                        rows(values.get(i), keep, rowSize, scratch, slot + "-value-" + i), shape, sessions.kvType())));
            }
            return new KvCache(k, v, length, keep.length, () -> created.forEach(OnnxTensor::close));
        } catch (OrtException e) {
            created.forEach(OnnxTensor::close);
            throw new IllegalStateException("could not compact the KV cache: " + e.getMessage(), e);
        }
    }

    /** Rows of {@code rowSize} bytes. */
    private static ByteBuffer rows(OnnxTensor t, int[] keep, int rowSize, ScratchBuffers scratch, String slot) {
        ByteBuffer all = t.getByteBuffer();
        ByteBuffer out = scratch.bytes(slot, (long) keep.length * rowSize);
        for (int r : keep) {
            ByteBuffer row = all.duplicate();
            row.position(r * rowSize).limit((r + 1) * rowSize);
            out.put(row);
        }
        return out.flip();
    }

    /** Elements of {@code bytes} bytes each, copied as they are. */
    private static ByteBuffer stack(List<KvCache> singles, java.util.function.Function<KvCache, OnnxTensor> part, int n,
            int length, TrunkShape m, int bytes, ScratchBuffers scratch, String slot) {
        int heads = m.kvHeads();
        int hd = m.headDim() * bytes;
        ByteBuffer out = scratch.bytes(slot, (long) singles.size() * n * heads * length * hd);
        byte[] zeros = new byte[hd];
        for (KvCache c : singles) {
            ByteBuffer one = part.apply(c).getByteBuffer(); // [1, heads, c.length, head dim]
            int pad = length - c.length;
            for (int b = 0; b < n; b++) {
                for (int h = 0; h < heads; h++) {
                    for (int t = 0; t < pad; t++) {
                        out.put(zeros); // scratch contents are unspecified: the padding is written, not assumed
                    }
                    ByteBuffer head = one.duplicate();
                    head.position(h * c.length * hd).limit((h + 1) * c.length * hd);
                    out.put(head);
                }
            }
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
