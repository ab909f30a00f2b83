package io.github.mmupt.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.head.HeadWeights;
import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import io.github.mmupt.preference.PreferencePair;
import io.github.mmupt.preference.PreferencePairWriter;
import io.github.mmupt.rollout.SamplingParams;
import io.github.mmupt.train.TrainingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every unsupervised row of the full table, on the tiny model, trains on the same thing whether the unlabeled
 * split carries its gold labels, wrong ones or none: MM-UPT, LMSI and SRLM export bit-identical heads, and
 * Genixer's and STIC's data writers write the same data.
 */
class UnsupervisedLabelIsolationTest {

    @TempDir
    static Path dir;

    static EmbeddedDefault.Settings s = EmbeddedDefault.Settings.quick();
    static EmbeddedDefault.Prepared p;
    static Path base;
    static List<Dataset> variants;

    @BeforeAll
    static void prepare() throws Exception {
        p = EmbeddedDefault.prepare(dir.resolve("data"), 4, s);
        base = dir.resolve("base");
        EmbeddedDefault.train(p.model(), base, p.labeled(), TrainingMode.SFT, s.sftSteps(), s.sftLearningRate(), s, 4,
                dir.resolve("stage1"));
        List<Example> wrong = new ArrayList<>();
        for (Example e : p.unlabeled().examples()) {
            wrong.add(new Example(e.prompt(), Optional.of("9"), Optional.of("diagonal Red 9 = \\boxed{9}")));
        }
        variants = List.of(p.unlabeled(), p.unlabeled().withoutLabels(), Dataset.of("wrong", wrong));
        assertThat(p.unlabeled().examples()).allSatisfy(e -> assertThat(e.goldAnswer()).isPresent());
    }

    @Test
    void mmUptLmsiAndSrlmTrainTheSameHeadWithRightWrongOrNoLabels() throws Exception {
        for (TrainingMode mode : List.of(TrainingMode.UPT, TrainingMode.LMSI, TrainingMode.SRLM)) {
            List<HeadWeights> heads = new ArrayList<>();
            for (int v = 0; v < variants.size(); v++) {
                Path run = dir.resolve(mode + "-" + v);
                EmbeddedDefault.train(base, run.resolve("model"), variants.get(v), mode, s.rlSteps(), 0.01, 0.5, s, 4, run);
                try (OnnxPolicy trained = OnnxPolicy.open(run.resolve("model"), PolicyOptions.defaults())) {
                    heads.add(trained.initialHead());
                }
            }
            try (OnnxPolicy start = OnnxPolicy.open(base, PolicyOptions.defaults())) {
                assertThat(heads.get(0)).as("%s trains", mode).isNotEqualTo(start.initialHead());
            }
            assertThat(heads.get(1)).as("%s without labels", mode).isEqualTo(heads.get(0));
            assertThat(heads.get(2)).as("%s with wrong labels", mode).isEqualTo(heads.get(0));
        }
    }

    @Test
    void genixerAndSticWriteTheSameDataWithRightWrongOrNoLabels() throws Exception {
        EmbeddedDefault.BaselineSettings b = EmbeddedDefault.BaselineSettings.chosen();
        // a generator trained long enough to write pairs that pass the filters, so the comparison is not of nothing
        EmbeddedDefault.Settings longer = new EmbeddedDefault.Settings(s.labeled(), s.unlabeled(), s.test(), 200,
                s.sftLearningRate(), s.rlSteps(), s.rlLearningRate(), s.klBeta(), s.promptsPerStep(), s.responses(),
                s.trainTemperature(), s.minAgreement(), s.maxNewTokens(), s.passTemperature(), s.voteTemperature(),
                s.voteN());
        Path writer = EmbeddedDefault.trainGenixerWriter(p, dir, longer, 4);
        List<List<Example>> pairs = new ArrayList<>();
        List<List<PreferencePair>> prefs = new ArrayList<>();
        for (Dataset d : variants) {
            pairs.add(EmbeddedDefault.writePairs(writer, d, b, s, 4).dataset().examples());
            prefs.add(EmbeddedDefault.withEvaluationSampler(base, s, sampler -> PreferencePairWriter.builder()
                    .sampler(sampler).goodPrompt("{images} {question}").poorPrompt("{images} {question}")
                    .corruption(b.sticCorruption())
                    .sampling(SamplingParams.builder().responsesPerPrompt(1).temperature(0.5).topP(1.0).maxNewTokens(12)
                            .build())
                    .seed(7).build().write(d.examples())));
        }
        assertThat(prefs.get(0)).isNotEmpty();
        assertThat(pairs.get(0)).as("the generator wrote pairs that passed").isNotEmpty();
        for (int v = 1; v < variants.size(); v++) {
            assertThat(pairs.get(v)).as("Genixer's pairs, variant %d", v).isEqualTo(pairs.get(0));
            assertThat(prefs.get(v)).as("STIC's pairs, variant %d", v).isEqualTo(prefs.get(0));
        }
    }
}
