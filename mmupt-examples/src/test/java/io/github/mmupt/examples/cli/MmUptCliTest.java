package io.github.mmupt.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.onnx.policy.OnnxPolicy;
import io.github.mmupt.onnx.policy.PolicyOptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command-line runner on the generated Qwen2-VL-contract model, as the README runs it. */
class MmUptCliTest {

    @TempDir
    static Path dir;

    static Path model;
    static Path data;

    record Run(int status, String out, String err) {
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = MmUptCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    @BeforeAll
    static void generate() {
        Run r = cli("make-test-model", "--out", dir.resolve("gen").toString(), "--tokenizer",
                System.getProperty("mmupt.qwen.tokenizer"), "--examples", "8");
        assertThat(r.status()).as(r.err()).isZero();
        model = dir.resolve("gen/model");
        data = dir.resolve("gen/data/squares.jsonl");
    }

    @Test
    void helpListsEveryOptionWithItsDefault() {
        Run r = cli("upt", "--help");
        assertThat(r.status()).isZero();
        for (String option : List.of("--model", "--data", "--out", "--mode", "--steps", "--prompts-per-step",
                "--responses", "--max-new-tokens", "--temperature", "--lr", "--min-vote-share", "--checkpoint-every",
                "--resume", "--seed", "--ort-threads", "--kernel-threads", "--skip-bad-lines", "--answers", "--judge-weight")) {
            assertThat(r.out()).contains(option);
        }
        String flowed = r.out().replaceAll("\\s+", " "); // help text wraps at 80 columns
        assertThat(flowed).contains("(default: 10, MM-UPT's)").contains("(default: 2048, MM-UPT's)")
                .contains("(default: 1e-6, MM-UPT's)");
        assertThat(cli("eval", "--help").out()).contains("--samples").contains("(default: 8)");
        assertThat(cli("synthesize", "--help").out()).contains("--strategy").contains("in_context or direct");
    }

    @Test
    void badArgumentsAndBadFilesGetOneClearLineEach() throws Exception {
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"problem\": \"<image>x\", \"images\": [\"gone.png\"]}\n");
        List<String[]> cases = List.of(
                new String[] {"upt", "--data", data.toString(), "--out", "o"},
                new String[] {"upt", "--model", dir.resolve("nowhere").toString(), "--data", data.toString(), "--out",
                        dir.resolve("o1").toString(), "--prompts-per-step", "2"},
                new String[] {"upt", "--model", model.toString(), "--data", bad.toString(), "--out",
                        dir.resolve("o2").toString()},
                new String[] {"upt", "--model", model.toString(), "--data", data.toString(), "--out",
                        dir.resolve("o3").toString(), "--mode", "rlhf"},
                new String[] {"upt", "--model", model.toString(), "--data", data.toString(), "--out",
                        dir.resolve("o4").toString(), "--prompts-per-step", "9"},
                new String[] {"upt", "--model", model.toString(), "--data", data.toString(), "--out",
                        dir.resolve("o5").toString(), "--mode", "lmsi", "--judge-weight", "0.5"},
                new String[] {"eval", "--model", model.toString(), "--data", data.toString(), "--samples", "many"},
                new String[] {"eval", "--model", model.toString(), "--data", data.toString(), "--answers", "chess"},
                new String[] {"frobnicate"});
        List<String> expected = List.of("Missing required option: '--model=DIR'", "nowhere is not a directory",
                "gone.png", "--mode must be upt, grpo, sft, lmsi or srlm, got 'rlhf'",
                "--prompts-per-step 9 is more than the 8 examples", "--judge-weight is in [0, 1) and only for --mode upt",
                "'many' is not an int", "--answers", "Unmatched argument at index 0: 'frobnicate'");
        for (int i = 0; i < cases.size(); i++) {
            Run r = cli(cases.get(i));
            assertThat(r.status()).as(String.join(" ", cases.get(i))).isIn(1, 2);
            assertThat(r.err().strip().lines().toList()).as(r.err()).hasSize(1);
            assertThat(r.err()).contains(expected.get(i));
        }
    }

    @Test
    void sftThenUptThenEvalWriteEveryOutputAndTheExportOpens() throws Exception {
        Path sft = dir.resolve("sft");
        Run first = cli("upt", "--mode", "sft", "--model", model.toString(), "--data", data.toString(), "--out",
                sft.toString(), "--steps", "12", "--prompts-per-step", "4", "--lr", "0.05", "--temperature", "1.0");
        assertThat(first.status()).as(first.err()).isZero();
        Path upt = dir.resolve("upt");
        Run second = cli("upt", "--model", sft.resolve("model").toString(), "--data", data.toString(), "--out",
                upt.toString(), "--steps", "2", "--prompts-per-step", "4", "--responses", "4", "--max-new-tokens", "8",
                "--lr", "0.01", "--temperature", "1.0", "--checkpoint-every", "1");
        assertThat(second.status()).as(second.err()).isZero();
        assertThat(second.out()).contains("mode=upt steps=2 answer_rate=1.000");
        assertThat(second.err()).contains("upt [########################] 2/2 steps").contains("ETA 0:00");
        assertThat(Files.readAllLines(upt.resolve("metrics.jsonl"))).hasSize(2);
        assertThat(upt.resolve("curves.png")).isNotEmptyFile();
        assertThat(upt.resolve("checkpoints/step-00000002")).isDirectory();
        try (OnnxPolicy exported = OnnxPolicy.open(upt.resolve("model"), PolicyOptions.defaults());
                OnnxPolicy before = OnnxPolicy.open(sft.resolve("model"), PolicyOptions.defaults())) {
            assertThat(exported.initialHead()).isNotEqualTo(before.initialHead());
        }
        Run eval = cli("eval", "--model", upt.resolve("model").toString(), "--data", data.toString(), "--samples", "4",
                "--max-new-tokens", "8");
        assertThat(eval.status()).as(eval.err()).isZero();
        assertThat(eval.out()).containsPattern("examples=8 pass@1=[01]\\.\\d{4} maj@4=[01]\\.\\d{4}");
        // the squares' answers are digits: VQA's comparison scores them as the math one does
        Run vqa = cli("eval", "--model", upt.resolve("model").toString(), "--data", data.toString(), "--samples", "4",
                "--max-new-tokens", "8", "--answers", "vqa");
        assertThat(vqa.status()).as(vqa.err()).isZero();
        assertThat(vqa.out()).isEqualTo(eval.out());
        Path synthesized = dir.resolve("synth/new.jsonl");
        Run synth = cli("synthesize", "--model", upt.resolve("model").toString(), "--data", data.toString(), "--out",
                synthesized.toString(), "--strategy", "direct", "--max-new-tokens", "8");
        assertThat(synth.status()).as(synth.err()).isZero();
        assertThat(synth.out()).containsPattern("sources=8 candidates=\\d+ kept=\\d+");
        assertThat(synthesized).exists();
        // SRLM: the model judges its own responses with the standard judging prompt
        Path srlm = dir.resolve("srlm");
        Run judged = cli("upt", "--mode", "srlm", "--model", sft.resolve("model").toString(), "--data", data.toString(),
                "--out", srlm.toString(), "--steps", "1", "--prompts-per-step", "4", "--responses", "4",
                "--max-new-tokens", "8", "--lr", "0.01", "--temperature", "1.0");
        assertThat(judged.status()).as(judged.err()).isZero();
        assertThat(judged.out()).contains("mode=srlm steps=1");
        assertThat(Files.readAllLines(srlm.resolve("metrics.jsonl"))).hasSize(1);
    }

    /** Whether this process ignores SIGINT (bit 2 of the SigIgn mask in /proc/self/status). */
    private static boolean sigintIgnored() throws java.io.IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return false;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & 0x2L) != 0;
            }
        }
        return false;
    }

    @Test
    void ctrlCStopsAfterAConsistentCheckpointThatResumeContinues() throws Exception {
        Path out = dir.resolve("interrupted");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                MmUptCli.class.getName(), "upt", "--model", model.toString(), "--data", data.toString(), "--out",
                out.toString(), "--steps", "200", "--prompts-per-step", "4", "--responses", "4", "--max-new-tokens", "8",
                "--temperature", "1.0", "--checkpoint-every", "1000"));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        StringBuilder seen = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                seen.append(line).append('\n');
                if (line.contains("2/200 steps")) {
                    // what the terminal sends on Ctrl-C; a JVM started with SIGINT ignored (a background job of a
                    // non-interactive shell) passes that on to the child, whose JVM then never sees it: SIGTERM
                    // takes the same shutdown-hook path
                    new ProcessBuilder("kill", sigintIgnored() ? "-TERM" : "-INT", Long.toString(child.pid())).start()
                            .waitFor();
                }
            }
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(seen).contains("stopping after the step in progress").containsPattern("stopped after step \\d+");
        List<Path> checkpoints;
        try (var list = Files.list(out.resolve("checkpoints"))) {
            checkpoints = list.filter(p -> p.getFileName().toString().startsWith("step-")).toList();
        }
        assertThat(checkpoints).as(seen.toString()).hasSize(1);
        int stoppedAt = Integer.parseInt(checkpoints.get(0).getFileName().toString().substring(5));
        assertThat(stoppedAt).isBetween(2, 199);
        Run resumed = cli("upt", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(), "--steps",
                Integer.toString(stoppedAt + 1), "--prompts-per-step", "4", "--responses", "4", "--max-new-tokens", "8",
                "--temperature", "1.0", "--checkpoint-every", "1000", "--resume");
        assertThat(resumed.status()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("resuming at step " + stoppedAt + " of " + (stoppedAt + 1));
        assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).hasSize(stoppedAt + 1);
    }
}
