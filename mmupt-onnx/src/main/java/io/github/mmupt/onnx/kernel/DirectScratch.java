package io.github.mmupt.onnx.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * A reusable direct buffer that grows to the largest size asked for, so per-call inputs of the kernel are
 * staged without a new allocation each call. Not thread-safe; one per owner.
 */
final class DirectScratch {

    private ByteBuffer bytes = ByteBuffer.allocateDirect(0);

    /** A float view of at least n elements, position 0, limit n; contents unspecified. */
    FloatBuffer floats(int n) {
        ensure(4L * n);
        FloatBuffer f = bytes.asFloatBuffer();
        f.limit(n);
        return f;
    }

    /** An int view of at least n elements, position 0, limit n; contents unspecified. */
    IntBuffer ints(int n) {
        ensure(4L * n);
        IntBuffer i = bytes.asIntBuffer();
        i.limit(n);
        return i;
    }

    private void ensure(long size) {
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a scratch buffer of " + size + " bytes is too large");
        }
        if (bytes.capacity() < size) {
            bytes = ByteBuffer.allocateDirect((int) Math.max(size, Math.min(Integer.MAX_VALUE, 2L * bytes.capacity())))
                    .order(ByteOrder.nativeOrder());
        }
    }

    /** Allocates a direct, native-order float buffer of exactly n elements. */
    static FloatBuffer newFloats(long n) {
        if (4 * n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(n + " floats do not fit in one direct buffer");
        }
        return ByteBuffer.allocateDirect((int) (4 * n)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
