package io.github.mmupt.continual;

import io.github.mmupt.storage.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Versioned model directories with an atomic "current" pointer: what a continual run publishes and what a
 * serving process polls.
 *
 * <p>Layout under the root: {@code versions/v000001/}, {@code versions/v000002/}, ... (each complete and never
 * changed once it has its name) and {@code CURRENT}, a one-line file naming the current version. A version is
 * written into a hidden temporary directory, flushed, and renamed to its final name; only then is {@code CURRENT}
 * replaced (temp file + rename). So a reader that resolves {@link #current()} sees a whole version or the previous
 * one, also when the writer is killed at any instant; a directory left half-written by a crash is hidden and is
 * deleted when the store is next opened for writing.
 *
 * <pre>{@code
 * ModelVersions versions = ModelVersions.open(Path.of("served"), 5);
 * long v = versions.publish(dir -> policy.exportModel(dir.resolve("model"), head));
 * // in the serving process:
 * Optional<Path> current = ModelVersions.readCurrent(Path.of("served"));
 * }</pre>
 *
 * <p>A version can also be staged ({@link #stage}: written whole but not current) and published later with
 * {@link #makeCurrent} or dropped with {@link #discard}. Retention: whenever the pointer moves, the oldest
 * versions beyond {@code keep} are deleted, never the current one, a version marked with {@link #protect} or a
 * staged one (newer than the current). A reader still loading a version that falls out of retention may see it
 * disappear: keep enough versions for the slowest reader's polling interval. Threading: one writer (the
 * publishing thread); any number of readers in any process.
 */
public final class ModelVersions {

    /** The pointer file's name under the root. */
    public static final String CURRENT = "CURRENT";
    private static final String VERSIONS = "versions";
    private static final Pattern NAME = Pattern.compile("v(\\d{6,18})");
    private static final String TEMP_PREFIX = ".partial-";

    /** Writes one version's files into the directory it is given (which exists and is empty). */
    @FunctionalInterface
    public interface VersionWriter {
        /**
         * Writes the version's files.
         *
         * @param directory the version's (temporary) directory
         * @throws IOException when writing fails; the version is then discarded
         */
        void write(Path directory) throws IOException;
    }

    private final Path root;
    private final int keep;
    private long protectedVersion = -1;

    private ModelVersions(Path root, int keep) {
        this.root = root;
        this.keep = keep;
    }

    /**
     * Opens (creating if needed) a version store for writing, and deletes temporary directories a crashed writer
     * left behind.
     *
     * @param root the store's directory
     * @param keep how many versions to keep, >= 1 (the current one is always kept)
     * @return the store
     * @throws IOException when the directory cannot be created or cleaned
     */
    public static ModelVersions open(Path root, int keep) throws IOException {
        if (root == null) {
            throw new IllegalArgumentException("the version store's root must not be null");
        }
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be >= 1 version, got " + keep);
        }
        Files.createDirectories(root.resolve(VERSIONS));
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root.resolve(VERSIONS), TEMP_PREFIX + "*")) {
            for (Path p : s) {
                AtomicFiles.deleteTree(p);
            }
        }
        return new ModelVersions(root, keep);
    }

    /** {@return the store's directory} */
    public Path root() {
        return root;
    }

    /**
     * Writes a new version and makes it current.
     *
     * @param writer writes the version's files
     * @return the new version's number
     * @throws IOException when writing fails; the current version is then unchanged
     */
    public long publish(VersionWriter writer) throws IOException {
        long number = stage(writer);
        makeCurrent(number);
        return number;
    }

    /**
     * Writes a new version, whole, without making it current (a candidate that {@link #makeCurrent} publishes
     * later or {@link #discard} drops). Readers never see it: they follow the pointer.
     *
     * @param writer writes the version's files
     * @return the new version's number
     * @throws IOException when writing fails; nothing is left behind
     */
    public long stage(VersionWriter writer) throws IOException {
        long number = versions().stream().mapToLong(Long::longValue).max().orElse(0) + 1;
        Path target = directory(number);
        Path temp = Files.createTempDirectory(root.resolve(VERSIONS), TEMP_PREFIX + name(number) + "-");
        try {
            writer.write(temp);
            forceTree(temp);
            AtomicFiles.move(temp, target);
        } finally {
            AtomicFiles.deleteTree(temp);
        }
        return number;
    }

    /**
     * Makes an existing version current (publishing a staged one, or serving an older one again), then deletes
     * the oldest versions beyond the kept count.
     *
     * @param number a version in the store
     * @throws IOException when the pointer cannot be written
     * @throws IllegalArgumentException when the version does not exist
     */
    public void makeCurrent(long number) throws IOException {
        if (!Files.isDirectory(directory(number))) {
            throw new IllegalArgumentException("version " + number + " does not exist under " + root.resolve(VERSIONS)
                    + "; versions present: " + versions());
        }
        point(number);
        prune();
    }

    /**
     * Deletes a version that is not current (a staged candidate that was rejected).
     *
     * @param number the version
     * @throws IOException when it cannot be deleted
     * @throws IllegalArgumentException when it is the current version
     */
    public void discard(long number) throws IOException {
        if (currentVersion().orElse(-1) == number) {
            throw new IllegalArgumentException("version " + number + " is current; make another current before "
                    + "discarding it");
        }
        AtomicFiles.deleteTree(directory(number));
    }

    /**
     * Keeps a version out of retention (the best version, to roll back to), in addition to the current one.
     *
     * @param number the version to keep, or -1 for none
     */
    public void protect(long number) {
        this.protectedVersion = number;
    }

    /**
     * The versions present.
     *
     * @return the version numbers, ascending
     * @throws IOException when the store cannot be listed
     */
    public List<Long> versions() throws IOException {
        List<Long> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root.resolve(VERSIONS))) {
            for (Path p : s) {
                Matcher m = NAME.matcher(p.getFileName().toString());
                if (m.matches() && Files.isDirectory(p)) {
                    out.add(Long.parseLong(m.group(1)));
                }
            }
        }
        out.sort(null);
        return out;
    }

    /**
     * The directory of a version (whether or not it exists).
     *
     * @param number the version
     * @return its directory
     */
    public Path directory(long number) {
        return root.resolve(VERSIONS).resolve(name(number));
    }

    /**
     * The current version's number.
     *
     * @return the number, if one was published
     * @throws IOException when the pointer cannot be read or is malformed
     */
    public OptionalLong currentVersion() throws IOException {
        return readPointer(root);
    }

    /**
     * The current version's directory.
     *
     * @return the directory, if one was published
     * @throws IOException when the pointer cannot be read, is malformed or names a missing version
     */
    public Optional<Path> current() throws IOException {
        return readCurrent(root);
    }

    /**
     * For serving processes: the directory of the current version under {@code root}, complete and unchanging.
     *
     * @param root a version store's directory
     * @return the current version's directory; empty when nothing was published yet
     * @throws IOException when the pointer cannot be read or names a version that is not there
     */
    public static Optional<Path> readCurrent(Path root) throws IOException {
        OptionalLong n = readPointer(root);
        if (n.isEmpty()) {
            return Optional.empty();
        }
        Path dir = root.resolve(VERSIONS).resolve(name(n.getAsLong()));
        if (!Files.isDirectory(dir)) {
            throw new IOException(root.resolve(CURRENT) + " names version " + n.getAsLong() + ", but " + dir
                    + " does not exist (was it deleted by hand?)");
        }
        return Optional.of(dir);
    }

    private static OptionalLong readPointer(Path root) throws IOException {
        String text;
        try {
            byte[] bytes = Files.readAllBytes(root.resolve(CURRENT));
            if (bytes.length > 64) {
                throw new IOException(root.resolve(CURRENT) + " holds " + bytes.length + " bytes; expected one version "
                        + "name such as v000001");
            }
            text = new String(bytes, StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        }
        Matcher m = NAME.matcher(text);
        if (!m.matches()) {
            throw new IOException(root.resolve(CURRENT) + " holds '" + text + "'; expected a version name such as v000001");
        }
        return OptionalLong.of(Long.parseLong(m.group(1)));
    }

    private void point(long number) throws IOException {
        AtomicFiles.write(root.resolve(CURRENT), (name(number) + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** Deletes the oldest versions beyond the kept count, never the current, the protected or a staged one. */
    private void prune() throws IOException {
        long current = currentVersion().orElse(-1);
        List<Long> present = versions().stream().filter(v -> v <= current).toList();
        int excess = present.size() - keep;
        for (int i = 0; i < present.size() && excess > 0; i++) {
            long v = present.get(i);
            if (v != current && v != protectedVersion) {
                AtomicFiles.deleteTree(directory(v));
                excess--;
            }
        }
    }

    private static String name(long number) {
        if (number < 1) {
            throw new IllegalArgumentException("version numbers start at 1, got " + number);
        }
        return String.format(java.util.Locale.ROOT, "v%06d", number);
    }

    /** Flushes every file of a version to disk before it gets its name, so a crash cannot leave it half-written. */
    private static void forceTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
            }
        }
    }
}
