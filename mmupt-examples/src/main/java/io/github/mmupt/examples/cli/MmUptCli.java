package io.github.mmupt.examples.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command-line runner, {@code java -jar mmupt-examples/target/mmupt.jar}: MM-UPT on a model directory and a
 * JSONL file without writing code. Subcommands: {@code upt} (train: MM-UPT, or the supervised GRPO and SFT
 * baselines), {@code eval} (pass@1 and maj@k on a labeled JSONL), {@code synthesize} (new questions about the
 * same images) and {@code make-test-model} (a small generated model in the Qwen2-VL contract, with data, to try
 * the others on). {@code mmupt <command> --help} lists every option with its default.
 *
 * <p>Errors: a bad argument or a bad file is reported in one line on standard error naming what was wrong
 * (exit status 2 for the command line, 1 for files and models); Ctrl-C stops {@code upt} after the step in
 * progress, with a checkpoint that {@code --resume} continues.
 *
 * <pre>{@code
 * java -jar mmupt.jar upt --model qwen2-vl-2b --data unlabeled.jsonl --out runs/upt --steps 40
 * }</pre>
 */
@Command(name = "mmupt", mixinStandardHelpOptions = true, version = "mmupt 0.1.0",
        description = "Unsupervised post-training of multimodal models by majority vote (MM-UPT).",
        subcommands = {UptCommand.class, EvalCommand.class, SynthesizeCommand.class, TestModelCommand.class,
                CommandLine.HelpCommand.class})
public final class MmUptCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required: upt, eval, synthesize or "
                + "make-test-model");
    }

    /**
     * Runs the command line and exits with its status (unless Ctrl-C is shutting the JVM down, which it lets finish).
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        int status = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        if (!StopRequest.shutdownStarted()) {
            System.exit(status);
        }
    }

    /**
     * Runs the command line with these streams (for tests).
     *
     * @param args the arguments
     * @param out standard output
     * @param err standard error: progress and the one-line errors
     * @return the exit status: 0, 1 (a file, model or run failed), 2 (bad arguments)
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new MmUptCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((e, a) -> {
            String command = e.getCommandLine().getCommandSpec().qualifiedName();
            err.println(command + ": " + oneLine(e.getMessage()) + " (" + command + " --help lists the options)");
            return 2;
        });
        cl.setExecutionExceptionHandler((e, command, parsed) -> {
            err.println(command.getCommandSpec().qualifiedName() + ": " + describe(e));
            return 1;
        });
        return cl.execute(args);
    }

    /** The failure in one line: the library's messages say what, where and what was expected. */
    static String describe(Throwable e) {
        String message = e.getMessage();
        boolean expected = e instanceof java.io.IOException || e instanceof IllegalArgumentException
                || e instanceof IllegalStateException || e instanceof java.io.UncheckedIOException;
        if (message == null || message.isBlank()) {
            message = e.getClass().getSimpleName();
        } else if (!expected) {
            message = e.getClass().getSimpleName() + ": " + message;
        }
        return oneLine(message);
    }

    static String oneLine(String text) {
        return text.replaceAll("\\s*\\R\\s*", "; ").strip();
    }
}
