package io.github.mmupt.examples.bench;

import com.google.common.primitives.ImmutableDoubleArray;
import com.google.common.primitives.ImmutableIntArray;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.grpo.HeadVersion;
import io.github.mmupt.grpo.KlPenalty;
import io.github.mmupt.grpo.LossBatch;
import io.github.mmupt.grpo.ReferenceGrpoOptimizer;
import io.github.mmupt.head.HeadShape;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.head.TokenScores;
import io.github.mmupt.onnx.kernel.HeadTensor;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.kernel.NativeGrpoOptimizer;
import io.github.mmupt.onnx.kernel.NativeHead;
import io.github.mmupt.onnx.kernel.NativeLibrary;
import io.github.mmupt.onnx.kernel.TensorPart;
import io.github.mmupt.policy.HiddenStates;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The native kernel against OpenBLAS and against the Java reference, measured side by side in one process.
 *
 * <ul>
 *   <li>kernel_vs_sgemm: time of three OpenBLAS SGEMMs of the head's shapes (logits h W^T, dh = Z W,
 *       dW = Z^T h: the 6 T V d FLOPs of a fused loss) over the kernel's train mode (which also computes the
 *       softmax, the GRPO loss and both gradients). Above 1 the kernel is faster.</li>
 *   <li>extra_memory_vs_naive: the kernel's scratch memory over a naive [T x V] float logits buffer.</li>
 *   <li>score_vs_gemm: the kernel's score mode over one logits SGEMM. Below 1 the kernel is faster.</li>
 *   <li>native_vs_java: the Java reference's time for one micro-batch over the native kernel's.</li>
 *   <li>bf16_vs_fp32: the fp32 kernel's train-mode time over the opt-in bf16 path's ({@code avx512bf16}), on
 *       CPUs with AVX512-BF16; {@code n/a} elsewhere.</li>
 * </ul>
 * OpenBLAS is measured at its best: the README's command starts this JVM without {@code OPENBLAS_CORETYPE} and
 * {@code OPENBLAS_L2_SIZE} (which pin it to an older kernel when it loads), this class refuses to run with either
 * set unless {@code --allow-pinned-openblas} is given, and the core OpenBLAS chose is printed.
 * Each quantity is the minimum over interleaved repetitions (these machines are noisy), and every timed
 * section starts after a pause of {@value #QUIET_MILLIS} ms, so that no thread of the call before it (OpenBLAS's
 * spinning workers) still competes for the cores. With several shapes,
 * the last line reports the worst of each: the smallest speed ratio, the largest memory and score ratios.
 *
 * <p>Run it with the README's benchmark command; arguments: {@code --reps N}, {@code --threads N},
 * {@code --shapes TxDxV,...}, {@code --java-shape TxDxV}.
 */
public final class KernelBenchmark {

    /** Pause before every timed section (see {@link #quiesce()}); well above OpenBLAS's spin of ~0.1 s. */
    private static final long QUIET_MILLIS = 250;

    record Shape(int tokens, int hidden, int vocab) {
        static Shape parse(String s) {
            String[] p = s.toLowerCase(Locale.ROOT).split("x");
            if (p.length != 3) {
                throw new IllegalArgumentException("a shape is TxDxV (tokens x hidden x vocab), got " + s);
            }
            return new Shape(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
        }

        double flops6() {
            return 6.0 * tokens * hidden * vocab;
        }

        @Override
        public String toString() {
            return "T=" + tokens + " d=" + hidden + " V=" + vocab;
        }
    }

    record Measurement(Shape shape, double kernel, double sgemm3, double score, double sgemm1, long workspace,
            double bf16Train, double bf16Score) {
        double kernelVsSgemm() {
            return sgemm3 / kernel;
        }

        double bf16VsFp32() {
            return kernel / bf16Train;
        }

        double scoreVsGemm() {
            return score / sgemm1;
        }

        double memoryVsNaive() {
            return workspace / (4.0 * shape.tokens() * shape.vocab());
        }
    }

    private KernelBenchmark() {
    }

    public static void main(String[] args) {
        int reps = 5;
        int threads = Runtime.getRuntime().availableProcessors();
        List<Shape> shapes = new ArrayList<>(List.of(new Shape(1024, 896, 151936), new Shape(512, 2048, 32000)));
        Shape javaShape = new Shape(64, 256, 4096);
        boolean allowPinned = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--allow-pinned-openblas" -> allowPinned = true;
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--shapes" -> {
                    shapes.clear();
                    for (String s : args[++i].split(",")) {
                        shapes.add(Shape.parse(s));
                    }
                }
                case "--java-shape" -> javaShape = Shape.parse(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --reps, --threads, --shapes, --java-shape, --allow-pinned-openblas)");
            }
        }
        List<String> pinning = new ArrayList<>();
        for (String variable : List.of("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) {
            if (System.getenv(variable) != null) {
                pinning.add(variable + "=" + System.getenv(variable));
            }
        }
        if (!pinning.isEmpty() && !allowPinned) {
            throw new IllegalStateException("the environment sets " + String.join(" and ", pinning) + ", which "
                    + (pinning.size() > 1 ? "pin" : "pins") + " OpenBLAS to an older, slower kernel and would "
                    + "flatter ours. Run the README's benchmark command (it clears both), or `env -u "
                    + "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE java ...`; --allow-pinned-openblas measures against "
                    + "the pinned one anyway.");
        }
        NativeLibrary.load(); // never measure the Java fallback by accident
        OpenBlas.load();
        OpenBlas.setThreads(threads);
        KernelOptions options = KernelOptions.defaults().withThreads(threads);
        KernelOptions bf16 = bf16Available(options) ? options.withBf16Products() : null;
        System.out.printf(Locale.ROOT, "machine: %s, %d CPUs; %s%n", cpuModel(),
                Runtime.getRuntime().availableProcessors(), cpuFlags());
        System.out.printf(Locale.ROOT, "OpenBLAS: %s; core %s%s%n", OpenBlas.config().trim(), OpenBlas.coreName(),
                pinning.isEmpty() ? "" : " (pinned by " + String.join(", ", pinning) + ")");
        System.out.printf(Locale.ROOT, "kernel benchmark: %d threads, %d repetitions (minimum taken), kernel ISA %s, bf16 %s%n",
                threads, reps, isa(options), bf16 == null ? "not available (no AVX512-BF16)" : "avx512bf16");

        List<Measurement> results = new ArrayList<>();
        for (Shape shape : shapes) {
            Measurement m = measure(shape, options, bf16, reps);
            results.add(m);
            System.out.printf(Locale.ROOT,
                    "%s: train %.3f s (%.0f GFLOP/s on 6TVd) vs 3 x sgemm %.3f s (%.0f GFLOP/s): %.2f | "
                            + "score %.3f s vs logits sgemm %.3f s: %.2f | workspace %.1f MB vs naive logits %.1f MB: %.4f%n",
                    shape, m.kernel(), shape.flops6() / m.kernel() / 1e9, m.sgemm3(), shape.flops6() / m.sgemm3() / 1e9,
                    m.kernelVsSgemm(), m.score(), m.sgemm1(), m.scoreVsGemm(), m.workspace() / 1e6,
                    4.0 * shape.tokens() * shape.vocab() / 1e6, m.memoryVsNaive());
            if (bf16 != null) {
                System.out.printf(Locale.ROOT, "%s: bf16 train %.3f s (%.0f GFLOP/s): %.2f x fp32 | bf16 score %.3f s: %.2f x fp32%n",
                        shape, m.bf16Train(), shape.flops6() / m.bf16Train() / 1e9, m.bf16VsFp32(), m.bf16Score(),
                        m.score() / m.bf16Score());
            }
        }
        double[] java = javaVsNative(javaShape, options, Math.max(2, reps));
        System.out.printf(Locale.ROOT, "%s: Java reference %.3f s vs native %.4f s (%d threads) and %.4f s (1 thread)%n",
                javaShape, java[0], java[1], threads, java[2]);

        double kernelVsSgemm = results.stream().mapToDouble(Measurement::kernelVsSgemm).min().orElse(Double.NaN);
        double memory = results.stream().mapToDouble(Measurement::memoryVsNaive).max().orElse(Double.NaN);
        double score = results.stream().mapToDouble(Measurement::scoreVsGemm).max().orElse(Double.NaN);
        String bf16VsFp32 = bf16 == null ? "n/a" : String.format(Locale.ROOT, "%.2f",
                results.stream().mapToDouble(Measurement::bf16VsFp32).min().orElse(Double.NaN));
        System.out.printf(Locale.ROOT,
                "kernel_vs_sgemm=%.3f extra_memory_vs_naive=%.4f score_vs_gemm=%.3f native_vs_java=%.1f bf16_vs_fp32=%s%n",
                kernelVsSgemm, memory, score, java[0] / java[1], bf16VsFp32);
    }

    private static boolean bf16Available(KernelOptions options) {
        try (NativeHead probe = NativeHead.create(HeadShape.full(16, 16), false, options.withBf16Products())) {
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String cpuModel() {
        return cpuinfo("model name").orElse(System.getProperty("os.arch"));
    }

    /** The vector extensions that matter here, as the kernel sees them in /proc/cpuinfo. */
    private static String cpuFlags() {
        List<String> flags = List.of(cpuinfo("flags").orElse("").split(" "));
        List<String> shown = new ArrayList<>();
        for (String f : List.of("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "asimd")) {
            if (flags.contains(f)) {
                shown.add(f);
            }
        }
        return shown.isEmpty() ? "no vector extensions found in /proc/cpuinfo" : "ISA " + String.join(" ", shown);
    }

    private static java.util.Optional<String> cpuinfo(String key) {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith(key)).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim());
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return java.util.Optional.empty();
        }
    }

    private static String isa(KernelOptions options) {
        try (NativeHead probe = NativeHead.create(HeadShape.full(16, 16), false, options)) {
            return probe.isa();
        }
    }

    private static Measurement measure(Shape s, KernelOptions options, KernelOptions bf16Options, int reps) {
        int t = s.tokens();
        int d = s.hidden();
        int v = s.vocab();
        SplittableRandom rng = new SplittableRandom(42);
        FloatBuffer w = randomFloats((long) v * d, 0.05, rng);
        FloatBuffer h = randomFloats((long) t * d, 1.0, rng);
        IntBuffer targets = ByteBuffer.allocateDirect(4 * t).order(ByteOrder.nativeOrder()).asIntBuffer();
        FloatBuffer advantages = floats(t);
        FloatBuffer weights = floats(t);
        for (int i = 0; i < t; i++) {
            targets.put(i, rng.nextInt(v));
            advantages.put(i, i % 2 == 0 ? 1f : -1f);
            weights.put(i, 1f / t);
        }
        FloatBuffer old = floats(t);
        FloatBuffer logp = floats(t);
        FloatBuffer dh = floats((long) t * d);
        FloatBuffer z = floats((long) t * v);
        FloatBuffer dhBlas = floats((long) t * d);
        FloatBuffer dwBlas = floats((long) v * d);
        GrpoLossConfig config = GrpoLossConfig.builder().kl(KlPenalty.none()).temperature(1.0).build();
        double kernel = Double.MAX_VALUE;
        double sgemm3 = Double.MAX_VALUE;
        double score = Double.MAX_VALUE;
        double sgemm1 = Double.MAX_VALUE;
        double bf16Train = Double.MAX_VALUE;
        double bf16Score = Double.MAX_VALUE;
        long workspace = 0;
        FloatBuffer oldBf16 = floats(t);
        try (NativeHead head = NativeHead.create(HeadShape.full(v, d), true, options);
                NativeHead bf16 = bf16Options == null ? null : NativeHead.create(HeadShape.full(v, d), true, bf16Options)) {
            head.write(HeadTensor.WEIGHT, TensorPart.VALUE, w);
            head.score(h, targets, t, 1.0, old, null); // on-policy: the ratio is 1 and every token has a gradient
            if (bf16 != null) {
                bf16.write(HeadTensor.WEIGHT, TensorPart.VALUE, w);
                bf16.score(h, targets, t, 1.0, oldBf16, null);
            }
            for (int rep = -1; rep < reps; rep++) { // rep -1 warms up: page faults, caches
                quiesce();
                long a = System.nanoTime();
                head.train(config, h, targets, advantages, old, null, weights, t, logp, null, dh);
                long b = System.nanoTime();
                workspace = Math.max(workspace, head.lastWorkspaceBytes());
                head.zeroGradient();
                quiesce();
                long c = System.nanoTime();
                OpenBlas.sgemm(false, true, t, v, d, h, d, w, d, z, v);       // Z = h W^T   [T x V]
                long e = System.nanoTime();
                OpenBlas.sgemm(false, false, t, d, v, z, v, w, d, dhBlas, d); // dh = Z W    [T x d]
                OpenBlas.sgemm(true, false, v, d, t, z, v, h, d, dwBlas, d);  // dW = Z^T h  [V x d]
                long f = System.nanoTime();
                quiesce();
                long f2 = System.nanoTime();
                head.score(h, targets, t, 1.0, logp, null);
                long g = System.nanoTime();
                if (rep >= 0) {
                    kernel = Math.min(kernel, (b - a) / 1e9);
                    sgemm3 = Math.min(sgemm3, (f - c) / 1e9);
                    sgemm1 = Math.min(sgemm1, (e - c) / 1e9);
                    score = Math.min(score, (g - f2) / 1e9);
                }
                if (bf16 != null) {
                    quiesce();
                    long j = System.nanoTime();
                    bf16.train(config, h, targets, advantages, oldBf16, null, weights, t, logp, null, dh);
                    long k = System.nanoTime();
                    bf16.zeroGradient();
                    quiesce();
                    long l = System.nanoTime();
                    bf16.score(h, targets, t, 1.0, logp, null);
                    long m = System.nanoTime();
                    if (rep >= 0) {
                        bf16Train = Math.min(bf16Train, (k - j) / 1e9);
                        bf16Score = Math.min(bf16Score, (m - l) / 1e9);
                    }
                }
            }
        }
        return new Measurement(s, kernel, sgemm3, score, sgemm1, workspace, bf16Train, bf16Score);
    }

    /**
     * Waits until the threads of the call before have gone quiet. OpenBLAS's workers spin for a while after a
     * call returns (about 2^28 cycles by default) before they sleep: a kernel timed right after an SGEMM shares
     * its cores with them, which cost the score mode 4-10% in a C harness here (score right after an SGEMM vs
     * 200 ms later, alternating in one process). Every timed section starts after the same pause, OpenBLAS's
     * included, so neither side runs beside the other's leftovers.
     */
    private static void quiesce() {
        try {
            Thread.sleep(QUIET_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting between timed sections", e);
        }
    }

    /** Seconds per micro-batch: {Java reference, native with the given threads, native with one thread}. */
    private static double[] javaVsNative(Shape s, KernelOptions options, int reps) {
        SplittableRandom rng = new SplittableRandom(7);
        int t = s.tokens();
        int d = s.hidden();
        int v = s.vocab();
        float[] w = new float[v * d];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (0.05 * gaussian(rng));
        }
        HeadWeights weights = HeadWeights.full(HeadShape.full(v, d), w);
        float[] hv = new float[t * d];
        for (int i = 0; i < hv.length; i++) {
            hv[i] = (float) gaussian(rng);
        }
        HiddenStates hidden = HiddenStates.of(t, d, hv);
        int[] y = new int[t];
        double[] adv = new double[t];
        for (int i = 0; i < t; i++) {
            y[i] = rng.nextInt(v);
            adv[i] = i % 2 == 0 ? 1 : -1;
        }
        GrpoLossConfig config = GrpoLossConfig.builder().kl(KlPenalty.none()).temperature(1.0).build();
        ImmutableIntArray targets = ImmutableIntArray.copyOf(y);
        ImmutableDoubleArray tokenWeights = ImmutableDoubleArray.copyOf(config.tokenWeights(new int[] {t}));
        double java = Double.MAX_VALUE;
        double nat = Double.MAX_VALUE;
        double single = Double.MAX_VALUE;
        try (GrpoOptimizer ref = new ReferenceGrpoOptimizer(weights.toReference(), config, AdamWConfig.mmUpt());
                GrpoOptimizer fast = new NativeGrpoOptimizer(weights, config, AdamWConfig.mmUpt(), options);
                GrpoOptimizer one = new NativeGrpoOptimizer(weights, config, AdamWConfig.mmUpt(), options.withThreads(1))) {
            TokenScores old = fast.score(hidden, targets, HeadVersion.CURRENT);
            LossBatch batch = new LossBatch(hidden, targets, ImmutableDoubleArray.copyOf(adv), old.logProbs(),
                    ImmutableDoubleArray.of(), tokenWeights);
            for (int rep = -1; rep < reps; rep++) {
                java = Math.min(java, timed(ref, batch, rep));
                nat = Math.min(nat, timed(fast, batch, rep));
                single = Math.min(single, timed(one, batch, rep));
            }
        }
        return new double[] {java, nat, single};
    }

    private static double timed(GrpoOptimizer opt, LossBatch batch, int rep) {
        long a = System.nanoTime();
        opt.accumulate(batch);
        long b = System.nanoTime();
        opt.discardGradient();
        return rep < 0 ? Double.MAX_VALUE : (b - a) / 1e9;
    }

    private static FloatBuffer floats(long n) {
        return ByteBuffer.allocateDirect(Math.toIntExact(4 * n)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static FloatBuffer randomFloats(long n, double scale, SplittableRandom rng) {
        FloatBuffer b = floats(n);
        for (int i = 0; i < n; i++) {
            b.put(i, (float) (scale * gaussian(rng)));
        }
        return b;
    }

    private static double gaussian(SplittableRandom rng) {
        double u = rng.nextDouble(1e-12, 1.0);
        double v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
