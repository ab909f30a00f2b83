package io.github.mmupt.continual;

import io.github.mmupt.data.DataErrorPolicy;
import io.github.mmupt.data.Dataset;
import io.github.mmupt.data.Example;
import io.github.mmupt.data.JsonlDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Examples from JSONL files that appear in a directory (a drop folder): each {@code *.jsonl} file is read once,
 * in name order, with the library's reader (bad lines skipped and logged, images confined to the directory),
 * then renamed to {@code *.jsonl.done} so a restarted process does not train on it twice ({@code .jsonl.failed}
 * when it cannot be read at all, with the reason logged).
 *
 * <pre>{@code
 * ExampleSource source = new JsonlDirectorySource(Path.of("incoming"), Duration.ofSeconds(5));
 * }</pre>
 *
 * <p>Delivery is at most once: a file is marked consumed when it is read, so the examples of a process that dies
 * before training on them are not seen again (unlabeled examples keep coming; duplicates would bias the vote).
 *
 * <p>Producers must write a file under another name (e.g. {@code .jsonl.tmp}) and rename it to {@code .jsonl}
 * when complete: a file is read as soon as it has its final name.
 */
public final class JsonlDirectorySource implements ExampleSource {

    private static final Logger LOG = LoggerFactory.getLogger(JsonlDirectorySource.class);
    /** Suffix a consumed file gets. */
    public static final String DONE_SUFFIX = ".done";
    /** Suffix a file that could not be read gets. */
    public static final String FAILED_SUFFIX = ".failed";

    private final Path directory;
    private final Duration scanInterval;
    private final JsonlDataset.Reader reader;
    private final Deque<Example> pending = new ArrayDeque<>();

    /**
     * @param directory the drop folder (created when missing)
     * @param scanInterval how often to look for new files while waiting, > 0
     */
    public JsonlDirectorySource(Path directory, Duration scanInterval) {
        if (directory == null || scanInterval == null || scanInterval.isNegative() || scanInterval.isZero()) {
            throw new IllegalArgumentException("a directory and a positive scan interval are required");
        }
        this.directory = directory;
        this.scanInterval = scanInterval;
        this.reader = JsonlDataset.reader().onError(DataErrorPolicy.SKIP);
    }

    @Override
    public Optional<Example> poll(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pending.isEmpty()) {
            readNextFile();
            if (!pending.isEmpty()) {
                break;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            Thread.sleep(Math.max(1, Math.min(left, scanInterval.toNanos()) / 1_000_000));
        }
        return Optional.of(pending.removeFirst());
    }

    /** Reads the first unconsumed file in name order into the pending queue and marks it consumed. */
    private void readNextFile() {
        try {
            Files.createDirectories(directory);
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(directory, "*.jsonl")) {
                s.forEach(files::add);
            }
            files.sort(null);
            for (Path file : files) {
                try {
                    Dataset data = reader.read(file);
                    for (String skipped : data.skipped()) {
                        LOG.warn("skipped: {}", skipped);
                    }
                    pending.addAll(data.examples());
                    Files.move(file, file.resolveSibling(file.getFileName() + DONE_SUFFIX));
                } catch (IOException | RuntimeException e) {
                    // a file that cannot be read at all is set aside, not retried forever
                    LOG.error("could not read {} ({}); renamed it to {}{}", file, e.getMessage(), file.getFileName(),
                            FAILED_SUFFIX);
                    Files.move(file, file.resolveSibling(file.getFileName() + FAILED_SUFFIX));
                }
                if (!pending.isEmpty()) {
                    return;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not read the drop folder " + directory, e);
        }
    }
}
