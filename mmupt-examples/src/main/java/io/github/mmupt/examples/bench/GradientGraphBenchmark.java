package io.github.mmupt.examples.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.github.mmupt.onnx.grad.GradientGraph;
import io.github.mmupt.onnx.lora.LoraGraph;
import io.github.mmupt.onnx.lora.LoraSettings;
import io.github.mmupt.onnx.lora.LoraTarget;
import io.github.mmupt.onnx.model.HeadSurgery;
import io.github.mmupt.onnx.model.OnnxModel;
import io.github.mmupt.onnx.qwen.QwenTinyBuilder;
import io.github.mmupt.onnx.qwen.QwenTinyConfig;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Times the adapter gradient graph against the forward pass over the same tokens, on the tiny Qwen2-VL-contract
 * trunk with rank-1 LoRA on every projection of every layer: both are ONNX Runtime sessions of the generated
 * graphs (the gradient graph recomputes the forward inside it), fed the same inputs, the minimum of several interleaved runs
 * at each sequence length. Memory: the process's peak resident set (VmHWM) after the gradient runs at each
 * length, and its growth per token between the two longest (a whole-process figure, ONNX Runtime's arena
 * included, not a count of tensors). Last line: {@code gradient_vs_forward=... activation_bytes_per_token=...}.
 *
 * <pre>{@code
 * mvn -B -q -Pgradient-bench -pl mmupt-examples -am verify -DskipTests
 * }</pre>
 */
public final class GradientGraphBenchmark {

    private static final int[] LENGTHS = {64, 128, 256, 512};

    private GradientGraphBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args repetitions per measurement, then the Qwen {@code tokenizer.json}
     * @throws Exception when a session fails
     */
    public static void main(String[] args) throws Exception {
        int reps = Integer.parseInt(args[0]);
        Path tokenizer = Path.of(args[1]);
        Path dir = Files.createTempDirectory("mmupt-gradient-bench");
        QwenTinyConfig config = QwenTinyConfig.defaults();
        QwenTinyBuilder.write(dir, config, 5, tokenizer);
        OnnxModel decoder = OnnxModel.read(dir.resolve("onnx").resolve("decoder_model_merged.onnx"));
        OnnxModel trunk = HeadSurgery.detach(decoder, "logits", "hidden_states").trunk();
        LoraGraph lora = LoraGraph.rewrite(trunk, LoraSettings.builder().rank(1).alpha(32).build());
        List<String> adapters = new ArrayList<>();
        lora.targets().forEach(t -> {
            adapters.add(t.aInput());
            adapters.add(t.bInput());
        });
        // as the policy builds it: the backward pass takes empty past caches, declared so
        List<String> past = new ArrayList<>();
        for (int i = 0; i < config.layers(); i++) {
            past.add("past_key_values." + i + ".key");
            past.add("past_key_values." + i + ".value");
        }
        GradientGraph gradient = GradientGraph.build(lora.model().withInputDimension(past, 2, 0), List.of("hidden_states"),
                adapters);
        System.out.printf(Locale.ROOT, "gradient graph benchmark: Qwen2-VL contract trunk d=%d, %d layers, rank-1 LoRA on %d "
                + "projections; forward %d nodes, gradient graph %d nodes; min of %d runs%n", config.hiddenSize(),
                config.layers(), lora.targets().size(), lora.model().graph().getNodeCount(),
                gradient.model().graph().getNodeCount(), reps);
        Map<String, Long> ops = new java.util.TreeMap<>();
        gradient.model().graph().getNodeList().stream().filter(n -> n.getName().startsWith(GradientGraph.PREFIX))
                .forEach(n -> ops.merge(n.getOpType(), 1L, Long::sum));
        System.out.println("gradient nodes by op: " + ops);
        // each broadcast whose axes the builder could not prove works them out at run time with one NonZero
        System.out.println("broadcasts reduced at run time: " + ops.getOrDefault("NonZero", 0L));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.addConfigEntry("session.model_external_initializers_file_folder_path",
                lora.model().externalDataFolder().orElseThrow().toString());
        double ratioAtLongest = 0;
        long[] peaks = new long[LENGTHS.length];
        OrtSession.SessionOptions gradientOptions = new OrtSession.SessionOptions();
        gradientOptions.addConfigEntry("session.model_external_initializers_file_folder_path",
                lora.model().externalDataFolder().orElseThrow().toString());
        String profile = System.getProperty("mmupt.bench.profile");
        if (profile != null) {
            // ONNX Runtime's per-node timings of the gradient session, as JSON (chrome://tracing format)
            gradientOptions.enableProfiling(profile);
        }
        try (OrtSession forward = env.createSession(lora.model().toBytes(), options);
                OrtSession backward = env.createSession(gradient.model().toBytes(), gradientOptions)) {
            Random random = new Random(9);
            for (int li = 0; li < LENGTHS.length; li++) {
                int t = LENGTHS[li];
                Map<String, OnnxTensor> feeds = feeds(env, config, lora, t, random);
                Map<String, OnnxTensor> gradFeeds = new HashMap<>(feeds);
                gradFeeds.put(gradient.seedInputs().get("hidden_states"),
                        gaussian(env, random, new long[] {1, t, config.hiddenSize()}, 1.0));
                // interleaved, so that a slow spell of this shared machine hits both sides alike
                double f = Double.MAX_VALUE;
                double g = Double.MAX_VALUE;
                for (int r = 0; r <= reps; r++) {
                    double fr = time(forward, feeds);
                    double gr = time(backward, gradFeeds);
                    if (r > 0) {
                        // the first run allocates ONNX Runtime's arena and plans: a warm-up, not a measurement
                        f = Math.min(f, fr);
                        g = Math.min(g, gr);
                    }
                }
                peaks[li] = peakResidentBytes();
                ratioAtLongest = g / f;
                System.out.printf(Locale.ROOT, "T=%4d  forward %8.3f ms  gradient %8.3f ms  ratio %.2f  peak RSS %.1f MiB%n", t,
                        f * 1e3, g * 1e3, g / f, peaks[li] / 1048576.0);
                gradFeeds.values().forEach(OnnxTensor::close);
            }
        }
        int last = LENGTHS.length - 1;
        double perToken = (double) (peaks[last] - peaks[last - 1]) / (LENGTHS[last] - LENGTHS[last - 1]);
        System.out.printf(Locale.ROOT, "gradient_vs_forward=%.2f activation_bytes_per_token=%.0f%n", ratioAtLongest, perToken);
    }

    private static Map<String, OnnxTensor> feeds(OrtEnvironment env, QwenTinyConfig c, LoraGraph lora, int t, Random random)
            throws Exception {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        feeds.put("inputs_embeds", gaussian(env, random, new long[] {1, t, c.hiddenSize()}, 1.0));
        long[] mask = new long[t];
        java.util.Arrays.fill(mask, 1);
        feeds.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, t}));
        long[] positions = new long[3 * t];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % t;
        }
        feeds.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {3, 1, t}));
        for (int i = 0; i < c.layers(); i++) {
            for (String kind : List.of("key", "value")) {
                feeds.put("past_key_values." + i + "." + kind, OnnxTensor.createTensor(env, FloatBuffer.allocate(0),
                        new long[] {1, c.kvHeads(), 0, c.headDim()}));
            }
        }
        for (LoraTarget target : lora.targets()) {
            feeds.put(target.aInput(), gaussian(env, random, new long[] {1, target.inFeatures()}, 0.05));
            feeds.put(target.bInput(), gaussian(env, random, new long[] {target.outFeatures(), 1}, 0.01));
        }
        return feeds;
    }

    private static double time(OrtSession session, Map<String, OnnxTensor> feeds) throws Exception {
        long start = System.nanoTime();
        try (OrtSession.Result ignored = session.run(feeds)) {
            return (System.nanoTime() - start) / 1e9;
        }
    }

    private static OnnxTensor gaussian(OrtEnvironment env, Random random, long[] shape, double sd) throws Exception {
        int n = 1;
        for (long s : shape) {
            n *= (int) s;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (sd * random.nextGaussian());
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape);
    }

    private static long peakResidentBytes() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmHWM in /proc/self/status: the memory figure needs Linux");
    }
}
