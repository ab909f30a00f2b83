package io.github.mmupt.onnx.policy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct buffers reused by name, each grown to the largest size asked for. Direct memory is returned to the
 * system only when a garbage collection happens to find its buffer unreachable, and a sampling loop makes little
 * heap garbage: a fresh direct buffer per call grew a process by a gigabyte over 20,000 steps. With one
 * owner reusing its slots, a steady loop allocates no direct memory at all after its first step.
 *
 * <p>A slot's buffer is valid until the next request for the same slot; the owner makes sure a slot is not
 * asked for again while its previous contents are still in use. Not thread-safe: one owner, one thread.
 */
final class ScratchBuffers {

    private final Map<String, ByteBuffer> slots = new HashMap<>();

    /**
     * A float view of exactly {@code n} elements of the slot (capacity {@code n}, so {@code clear()} and
     * {@code flip()} behave as on a buffer of that size); contents unspecified.
     */
    FloatBuffer floats(String slot, long n) {
        FloatBuffer f = ensure(slot, 4 * n).asFloatBuffer();
        return f.limit((int) n).slice();
    }

    /** Exactly {@code n} bytes of the slot, native order; contents unspecified. */
    ByteBuffer bytes(String slot, long n) {
        return ensure(slot, n).duplicate().clear().limit((int) n).slice().order(ByteOrder.nativeOrder());
    }

    /** A long view of exactly {@code n} elements of the slot; contents unspecified. */
    LongBuffer longs(String slot, long n) {
        LongBuffer l = ensure(slot, 8 * n).asLongBuffer();
        return l.limit((int) n).slice();
    }

    /** Bytes held by all slots. */
    long bytes() {
        return slots.values().stream().mapToLong(ByteBuffer::capacity).sum();
    }

    private ByteBuffer ensure(String slot, long size) {
        if (size < 0 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a buffer of " + size + " bytes for " + slot + " does not fit one direct "
                    + "buffer (at most " + Integer.MAX_VALUE + " bytes)");
        }
        ByteBuffer b = slots.get(slot);
        if (b == null || b.capacity() < size) {
            long grown = b == null ? size : Math.min(Integer.MAX_VALUE, Math.max(size, b.capacity() + b.capacity() / 2));
            b = ByteBuffer.allocateDirect((int) grown).order(ByteOrder.nativeOrder());
            slots.put(slot, b);
        }
        return b;
    }
}
