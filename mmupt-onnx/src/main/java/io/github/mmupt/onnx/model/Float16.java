package io.github.mmupt.onnx.model;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * IEEE 754 binary16 (float16) to and from float32, exactly where it can be: widening is exact (subnormals,
 * infinities and NaN included); narrowing rounds to nearest, ties to even, as the hardware does, overflows to
 * infinity and keeps NaN a NaN. Java 17 has no {@code Float.float16ToFloat}; this is the one place the library
 * converts, for fp16 weights read into float32 and for the float16 tensors of fp16 sessions.
 *
 * <pre>{@code
 * short h = Float16.fromFloat(1.5f);   // 0x3E00
 * float f = Float16.toFloat(h);       // 1.5f
 * }</pre>
 */
public final class Float16 {

    private Float16() {
    }

    /**
     * Widens one float16.
     *
     * @param h the float16 bits
     * @return the same value as a float
     */
    public static float toFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float value = mantissa * 0x1p-24f; // subnormal (or zero): exact in float
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /**
     * Narrows one float to the nearest float16 (ties to even).
     *
     * @param f the value
     * @return its float16 bits
     */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) { // infinity, or NaN kept quiet and non-zero
            return (short) (sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 | ((abs >> 13) & 0x3FF) : 0));
        }
        if (abs >= 0x477FF000) { // rounds to 65520 or more: infinity
            return (short) (sign | 0x7C00);
        }
        if (abs < 0x38800000) { // below the smallest normal float16: a subnormal, rounded in float arithmetic
            float magnitude = Float.intBitsToFloat(abs);
            // adding 0.5 makes the float's own round-to-nearest-even drop exactly the bits below 2^-24
            int scaled = Float.floatToRawIntBits(magnitude + 0.5f) - Float.floatToRawIntBits(0.5f);
            return (short) (sign | scaled);
        }
        int rounded = abs + 0xFFF + ((abs >> 13) & 1); // to nearest, ties to even, at bit 13
        return (short) (sign | ((rounded - 0x38000000) >> 13));
    }

    /**
     * Widens {@code n} float16 values of {@code src} (native order, from its position) into {@code dst} from its
     * position; both positions advance.
     *
     * @param src the float16 bits
     * @param dst where the floats go
     * @param n how many
     */
    public static void widen(ShortBuffer src, FloatBuffer dst, int n) {
        for (int i = 0; i < n; i++) {
            dst.put(toFloat(src.get()));
        }
    }

    /**
     * Narrows {@code n} floats of {@code src} into {@code dst}; both positions advance.
     *
     * @param src the floats
     * @param dst where the float16 bits go
     * @param n how many
     */
    public static void narrow(FloatBuffer src, ShortBuffer dst, int n) {
        for (int i = 0; i < n; i++) {
            dst.put(fromFloat(src.get()));
        }
    }
}
