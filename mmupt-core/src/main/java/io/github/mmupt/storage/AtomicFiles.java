package io.github.mmupt.storage;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes that survive a crash: the content goes to a temporary file beside the target, is flushed to disk,
 * and is renamed over the target in one step, so a reader sees the old file or the new one, never half of one.
 *
 * <pre>{@code
 * AtomicFiles.write(dir.resolve("model.json"), out -> mapper.writeValue(out, manifest));
 * }</pre>
 */
public final class AtomicFiles {

    /** Writes the content to a stream; may throw. */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes everything to {@code out}.
         *
         * @param out the temporary file's stream
         * @throws IOException when writing fails
         */
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    /**
     * Writes bytes atomically.
     *
     * @param target the file
     * @param bytes its new content
     * @throws IOException when writing fails (the old file, if any, is left as it was)
     */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Writes what {@code content} produces atomically.
     *
     * @param target the file
     * @param content what to write
     * @throws IOException when writing fails (the old file, if any, is left as it was)
     */
    public static void write(Path target, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
        try {
            try (var channel = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(channel));
                // writers such as Jackson close the stream they are given: keep the channel open for force()
                content.writeTo(new java.io.FilterOutputStream(out) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override
                    public void close() throws IOException {
                        out.flush();
                    }
                });
                out.flush();
                channel.force(true);
            }
            move(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Renames {@code from} to {@code to} atomically where the file system allows, replacing {@code to}.
     *
     * @param from the file or directory to move
     * @param to where it goes
     * @throws IOException when the move fails
     */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Deletes a directory tree (for cleaning up temporary directories); a missing root is fine.
     *
     * @param root the directory
     * @throws IOException when a file cannot be deleted
     */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
