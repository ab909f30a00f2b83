package io.github.mmupt.examples.bench;

import java.nio.FloatBuffer;

/** OpenBLAS's SGEMM through the benchmark-only bridge {@code libmmupt_blas_bench.so}. */
final class OpenBlas {

    /** System property naming the bridge library (set by the kernel-bench profile). */
    static final String LIBRARY_PROPERTY = "mmupt.bench.blas";

    private OpenBlas() {
    }

    static void load() {
        String path = System.getProperty(LIBRARY_PROPERTY);
        if (path == null) {
            throw new IllegalStateException("the OpenBLAS bridge is not built: run the benchmark with the kernel-bench "
                    + "profile (see README), which builds it and sets -D" + LIBRARY_PROPERTY);
        }
        System.load(path);
    }

    /** C [m x n] = op(A) op(B), row-major. */
    static void sgemm(boolean transA, boolean transB, int m, int n, int k, FloatBuffer a, int lda, FloatBuffer b, int ldb,
            FloatBuffer c, int ldc) {
        for (FloatBuffer x : new FloatBuffer[] {a, b, c}) {
            if (!x.isDirect()) {
                throw new IllegalArgumentException("sgemm needs direct buffers");
            }
        }
        if ((long) m * ldc > c.capacity() || (long) (transA ? k : m) * lda > a.capacity()
                || (long) (transB ? n : k) * ldb > b.capacity()) {
            throw new IllegalArgumentException("sgemm buffers too small for " + m + "x" + n + "x" + k);
        }
        sgemm0(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
    }

    static native void setThreads(int n);

    /** The core kernel OpenBLAS chose at load time ({@code openblas_get_corename}). */
    static native String coreName();

    /** OpenBLAS's build configuration ({@code openblas_get_config}): version, threading, target. */
    static native String config();

    private static native void sgemm0(boolean transA, boolean transB, int m, int n, int k, FloatBuffer a, int lda,
            FloatBuffer b, int ldb, FloatBuffer c, int ldc);
}
