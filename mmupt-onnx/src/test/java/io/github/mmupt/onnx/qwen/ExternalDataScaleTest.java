package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.kernel.HeadOptimizers;
import io.github.mmupt.onnx.kernel.KernelOptions;
import io.github.mmupt.onnx.policy.KvCacheSampler;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.onnx.tokenizer.QwenTokenizerFiles;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.RunResult;
import io.github.mmupt.train.TrainingMode;
import io.github.mmupt.vote.MajorityVoteLabeler;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Qwen-contract model whose decoder keeps {@value #DEFAULT_MIB} MiB of weights in its external data file (a
 * wide SwiGLU) opens, trains (SFT, then MM-UPT) and exports in a child JVM whose heap is capped well below that:
 * it can only pass if no step copies the weights into the Java heap. The child reports its peak heap, sampled.
 * {@code -Dmmupt.test.externalDataMiB=2300} makes the weights exceed protobuf's 2 GB (a manual check; CI runs the
 * default size).
 */
class ExternalDataScaleTest {

    static final int DEFAULT_MIB = 1024;
    static final long HEAP_CAP = 512L << 20;

    @TempDir
    Path dir;

    @Test
    void aModelWithMoreExternalDataThanHeapOpensTrainsAndExports() throws Exception {
        long mib = Long.getLong("mmupt.test.externalDataMiB", DEFAULT_MIB);
        QwenTinyConfig base = QwenTinyConfig.defaults();
        // gate, up and down of every layer: 3 x d x I floats
        int intermediate = (int) ((mib << 20) / (3L * base.hiddenSize() * 4 * base.layers()));
        QwenTinyConfig wide = new QwenTinyConfig(base.modelType(), base.hiddenSize(), intermediate, base.layers(),
                base.heads(), base.kvHeads(), base.headDim(), base.mropeSection(), base.vocabSize(), base.maxPositions(),
                base.visionDepth(), base.visionEmbedDim(), base.visionHeads(), base.visionMlpRatio(), base.minPixels(),
                base.maxPixels());
        Path model = dir.resolve("model");
        QwenTinyBuilder.write(model, wide, 11, QwenTokenizerFiles.qwen2VlFile());
        Path data = model.resolve("onnx/decoder_model_merged.onnx_data");
        long dataBytes = Files.size(data);
        assertThat(dataBytes).as("the weights are twice the child's heap").isGreaterThan(2 * HEAP_CAP);
        Path jsonl = QwenLoopTest.writeData(dir.resolve("data"), 4);

        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-Xmx" + (HEAP_CAP >> 20) + "m", "-cp",
                System.getProperty("java.class.path"), "-Dmmupt.qwen.tokenizer=" + QwenTokenizerFiles.qwen2VlFile(),
                Child.class.getName(), model.toString(), jsonl.toString(), dir.resolve("exported").toString())
                .redirectErrorStream(true).start();
        String out;
        try {
            assertThat(child.waitFor(300, TimeUnit.SECONDS)).as("open, train and export finish in 5 minutes").isTrue();
        } finally {
            out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).as(out).isZero();
        String last = out.strip().lines().reduce((a, b) -> b).orElseThrow();
        long peakHeap = value(last, "peak_heap_bytes");
        assertThat(value(last, "same_model_id")).as("the export keeps the trunk's identity: " + last).isEqualTo(1);
        assertThat(value(last, "head_round_trips")).as("the exported head is the trained one: " + last).isEqualTo(1);
        assertThat(value(last, "head_moved")).as("training changed the head: " + last).isEqualTo(1);
        Path exportedData = dir.resolve("exported/onnx/decoder_model_merged.onnx_data");
        assertThat(Files.size(exportedData)).as("the export streams every weight to its own data file")
                .isEqualTo(dataBytes);
        System.out.println("external-data model: " + dataBytes + " bytes of decoder weights; " + last
                + " (heap cap " + HEAP_CAP + ")");
        assertThat(peakHeap).isPositive().isLessThanOrEqualTo(HEAP_CAP);
    }

    private static long value(String line, String key) {
        for (String part : line.split(" ")) {
            if (part.startsWith(key + "=")) {
                return Long.parseLong(part.substring(key.length() + 1));
            }
        }
        throw new AssertionError("no " + key + " in: " + line);
    }

    /** Open, SFT, MM-UPT, export and reopen, in a JVM whose heap is smaller than the model's weights. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path model = Path.of(args[0]);
            Path jsonl = Path.of(args[1]);
            Path exported = Path.of(args[2]);
            // the heap's used size sampled every 2 ms: its true peak, garbage included (summing the pools' own
            // peaks would add maxima of different moments)
            java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    peak.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            sampler.setDaemon(true);
            sampler.start();
            HeadWeights start;
            HeadWeights trained;
            String modelId;
            try (OnnxPolicy policy = OnnxPolicy.open(model, PolicyOptions.defaults())) {
                start = policy.initialHead();
                HeadWeights sft = run(policy, start, 0.05, TrainingMode.SFT, jsonl).finalHead();
                trained = run(policy, sft, 0.01, TrainingMode.UPT, jsonl).finalHead();
                policy.exportModel(exported, trained);
                modelId = policy.spec().modelId();
            }
            boolean sameId;
            boolean roundTrip;
            try (OnnxPolicy reopened = OnnxPolicy.open(exported, PolicyOptions.defaults())) {
                sameId = reopened.spec().modelId().equals(modelId);
                roundTrip = reopened.initialHead().equals(trained);
            }
            sampler.interrupt();
            System.out.println("same_model_id=" + (sameId ? 1 : 0) + " head_round_trips=" + (roundTrip ? 1 : 0)
                    + " head_moved=" + (trained.equals(start) ? 0 : 1) + " peak_heap_bytes=" + peak.get());
        }

        private static RunResult run(OnnxPolicy policy, HeadWeights start, double lr, TrainingMode mode, Path jsonl)
                throws Exception {
            GrpoLossConfig loss = GrpoLossConfig.builder().temperature(1.0).build();
            AdamWConfig adamW = AdamWConfig.builder().learningRate(lr).weightDecay(0).build();
            try (GrpoOptimizer head = HeadOptimizers.create(start, loss, adamW, KernelOptions.defaults())) {
                return MmUpt.builder().policy(policy).optimizer(head)
                        .sampler(new KvCacheSampler(policy, head, AnswerExtractor.boxed()))
                        .data(JsonlDataset.reader().read(jsonl))
                        .sampling(SamplingParams.builder().responsesPerPrompt(2).temperature(1.0).maxNewTokens(4).build())
                        .labeler(MajorityVoteLabeler.builder().minAgreement(0.0).build())
                        .mode(mode).steps(1).promptsPerStep(2).seed(5).build().run();
            }
        }
    }

}
