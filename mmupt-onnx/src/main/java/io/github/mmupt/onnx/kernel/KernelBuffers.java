package io.github.mmupt.onnx.kernel;

import java.nio.Buffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * The checks every JNI entry of {@link NativeHead} makes before native code touches a buffer: direct, native
 * byte order, enough elements remaining, finite where NaN would poison the kernel's sums. Each failure names
 * the argument and what was expected.
 */
final class KernelBuffers {

    private KernelBuffers() {
    }

    static void checkTokens(int tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
        }
    }

    static void checkDirect(Buffer b, String name, ByteOrder order) {
        if (!b.isDirect()) {
            throw new IllegalArgumentException(name + " must be a direct buffer "
                    + "(ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder()).asFloatBuffer())");
        }
        if (order != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException(name + " must be in native byte order (" + ByteOrder.nativeOrder() + ")");
        }
    }

    static FloatBuffer floats(FloatBuffer b, long needed, String name, boolean optional) {
        if (b == null) {
            if (optional) {
                return null;
            }
            throw new IllegalArgumentException(name + " must not be null");
        }
        checkDirect(b, name, b.order());
        if (b.remaining() < needed) {
            throw new IllegalArgumentException(name + " has " + b.remaining() + " floats remaining, " + needed + " needed");
        }
        return b.slice();
    }

    static IntBuffer ints(IntBuffer b, long needed, String name) {
        if (b == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        checkDirect(b, name, b.order());
        if (b.remaining() < needed) {
            throw new IllegalArgumentException(name + " has " + b.remaining() + " ints remaining, " + needed + " needed");
        }
        return b.slice();
    }

    static FloatBuffer finite(FloatBuffer b, int tokens, String name) {
        for (int t = 0; t < tokens; t++) {
            float x = b.get(t);
            if (!Float.isFinite(x)) {
                throw new IllegalArgumentException(name + "[" + t + "] is " + x + "; it must be finite");
            }
        }
        return b;
    }
}
