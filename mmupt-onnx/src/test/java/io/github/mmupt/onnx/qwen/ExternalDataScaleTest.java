package io.github.mmupt.onnx.qwen;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.MmUpt;
import io.github.mmupt.answer.AnswerExtractor;
import io.github.mmupt.data.JsonlDataset;
import io.github.mmupt.grpo.AdamWConfig;
import io.github.mmupt.grpo.GrpoLossConfig;
import io.github.mmupt.grpo.GrpoOptimizer;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.ChildJvm;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

        String last = ChildJvm.lastLine(ChildJvm.run(Child.class, (HEAP_CAP >> 20) + "m", 300,
                List.of("-Dmmupt.qwen.tokenizer=" + QwenTokenizerFiles.qwen2VlFile()), model.toString(), jsonl.toString(),
                dir.resolve("exported").toString()));
        long peakHeap = ChildJvm.value(last, "peak_heap_bytes");
        assertThat(ChildJvm.value(last, "same_model_id")).as("the export keeps the trunk's identity: " + last).isEqualTo(1);
        assertThat(ChildJvm.value(last, "head_round_trips")).as("the exported head is the trained one: " + last).isEqualTo(1);
        assertThat(ChildJvm.value(last, "head_moved")).as("training changed the head: " + last).isEqualTo(1);
        Path exportedData = dir.resolve("exported/onnx/decoder_model_merged.onnx_data");
        assertThat(Files.size(exportedData)).as("the export streams every weight to its own data file")
                .isEqualTo(dataBytes);
        System.out.println("external-data model: " + dataBytes + " bytes of decoder weights; " + last
                + " (heap cap " + HEAP_CAP + ")");
        assertThat(peakHeap).isPositive().isLessThanOrEqualTo(HEAP_CAP);
    }

    /** Open, SFT, MM-UPT, export and reopen, in a JVM whose heap is smaller than the model's weights. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path model = Path.of(args[0]);
            Path jsonl = Path.of(args[1]);
            Path exported = Path.of(args[2]);
            ChildJvm.HeapPeak peak = new ChildJvm.HeapPeak();
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
            long peakBytes = peak.stop();
            System.out.println("same_model_id=" + (sameId ? 1 : 0) + " head_round_trips=" + (roundTrip ? 1 : 0)
                    + " head_moved=" + (trained.equals(start) ? 0 : 1) + " peak_heap_bytes=" + peakBytes);
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
