package io.github.mmupt.continual;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelVersionsTest {

    @TempDir
    Path root;

    @Test
    void publishesInOrderAndPointsAtTheNewest() throws IOException {
        ModelVersions versions = ModelVersions.open(root, 10);
        assertThat(versions.current()).isEmpty();
        assertThat(ModelVersions.readCurrent(root)).isEmpty();
        long v1 = versions.publish(dir -> VersionFiles.write(dir, 1, 1000));
        long v2 = versions.publish(dir -> VersionFiles.write(dir, 2, 1000));
        assertThat(List.of(v1, v2)).containsExactly(1L, 2L);
        assertThat(ModelVersions.readCurrent(root)).contains(versions.directory(2));
        VersionFiles.verify(versions.directory(2), 2);
        versions.makeCurrent(1);
        assertThat(versions.currentVersion()).hasValue(1);
    }

    @Test
    void aStagedVersionIsInvisibleUntilMadeCurrentAndCanBeDiscarded() throws IOException {
        ModelVersions versions = ModelVersions.open(root, 1);
        versions.publish(dir -> VersionFiles.write(dir, 1, 10));
        long staged = versions.stage(dir -> VersionFiles.write(dir, 2, 10));
        assertThat(ModelVersions.readCurrent(root)).contains(versions.directory(1));
        assertThat(versions.versions()).containsExactly(1L, 2L); // retention never deletes a staged version
        versions.discard(staged);
        assertThat(versions.versions()).containsExactly(1L);
        assertThatThrownBy(() -> versions.discard(1)).hasMessageContaining("is current");
        long again = versions.stage(dir -> VersionFiles.write(dir, 2, 10));
        versions.makeCurrent(again);
        assertThat(versions.versions()).containsExactly(2L);
        VersionFiles.verify(ModelVersions.readCurrent(root).orElseThrow(), 2);
    }

    @Test
    void aFailedWriteLeavesTheCurrentVersionAndNoDirectory() throws IOException {
        ModelVersions versions = ModelVersions.open(root, 10);
        versions.publish(dir -> VersionFiles.write(dir, 1, 100));
        assertThatThrownBy(() -> versions.publish(dir -> {
            VersionFiles.write(dir, 2, 100);
            throw new IOException("disk full");
        })).hasMessageContaining("disk full");
        assertThat(versions.currentVersion()).hasValue(1);
        assertThat(versions.versions()).containsExactly(1L);
        try (var s = Files.list(root.resolve("versions"))) {
            assertThat(s.toList()).hasSize(1);
        }
    }

    @Test
    void retentionKeepsTheNewestTheCurrentAndTheProtectedVersion() throws IOException {
        ModelVersions versions = ModelVersions.open(root, 2);
        versions.publish(dir -> VersionFiles.write(dir, 1, 10));
        versions.protect(1);
        for (int v = 2; v <= 5; v++) {
            int n = v;
            versions.publish(dir -> VersionFiles.write(dir, n, 10));
        }
        assertThat(versions.versions()).containsExactly(1L, 5L);
        versions.makeCurrent(1);
        versions.protect(-1);
        versions.publish(dir -> VersionFiles.write(dir, 6, 10));
        // after the publish, 6 is current; 1 is no longer current nor protected, 5 is older than the kept two
        assertThat(versions.versions()).containsExactly(5L, 6L);
    }

    @Test
    void badPointersAndUnknownVersionsAreNamed() throws IOException {
        ModelVersions versions = ModelVersions.open(root, 3);
        assertThatThrownBy(() -> versions.makeCurrent(4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version 4 does not exist");
        Files.writeString(root.resolve(ModelVersions.CURRENT), "../../etc");
        assertThatThrownBy(() -> ModelVersions.readCurrent(root)).isInstanceOf(IOException.class)
                .hasMessageContaining("expected a version name");
        Files.writeString(root.resolve(ModelVersions.CURRENT), "v000009\n");
        assertThatThrownBy(() -> ModelVersions.readCurrent(root)).isInstanceOf(IOException.class)
                .hasMessageContaining("does not exist");
        Files.write(root.resolve(ModelVersions.CURRENT), new byte[1 << 20]);
        assertThatThrownBy(() -> ModelVersions.readCurrent(root)).isInstanceOf(IOException.class)
                .hasMessageContaining("expected one version name");
    }

    @Test
    void openingForWritingDeletesWhatACrashedWriterLeft() throws IOException {
        Path partial = Files.createDirectories(root.resolve("versions").resolve(".partial-v000001-123"));
        Files.writeString(partial.resolve("half"), "x");
        ModelVersions versions = ModelVersions.open(root, 3);
        assertThat(partial).doesNotExist();
        assertThat(versions.publish(dir -> VersionFiles.write(dir, 1, 10))).isEqualTo(1);
    }

    @Test
    void aReaderPollingWhileTheWriterPublishesOnlySeesWholeVersions() throws Exception {
        ModelVersions versions = ModelVersions.open(root, 3);
        versions.publish(dir -> VersionFiles.write(dir, 1, 50_000));
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int[] reads = {0};
        Thread reader = new Thread(() -> {
            try {
                while (!done.get()) {
                    Optional<Path> current = ModelVersions.readCurrent(root);
                    if (current.isPresent()) {
                        try {
                            long v = Long.parseLong(current.get().getFileName().toString().substring(1));
                            VersionFiles.verify(current.get(), v);
                            reads[0]++;
                        } catch (java.nio.file.NoSuchFileException gone) {
                            // pruned between the pointer read and the file read: the documented retention race
                        }
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        reader.start();
        for (int v = 2; v <= 30; v++) {
            int n = v;
            versions.publish(dir -> VersionFiles.write(dir, n, 50_000));
        }
        done.set(true);
        reader.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(failure.get()).isNull();
        assertThat(reads[0]).isPositive();
    }

    @Test
    void aWriterKilledWithSigkillLeavesThePreviousVersionCurrentAndIntact() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int round = 0; round < 4; round++) {
            Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    PublishForever.class.getName(), root.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                long before = ModelVersions.readCurrent(root).map(p -> 1L).orElse(0L);
                // let it publish at least two versions in this round, then kill it mid-write at a varying moment
                while (countVersions() < 2 * (round + 1) + before && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                Thread.sleep(3 + 7L * round);
            } finally {
                child.destroyForcibly(); // SIGKILL on Unix
                child.waitFor(30, TimeUnit.SECONDS);
            }
            Optional<Path> current = ModelVersions.readCurrent(root);
            assertThat(current).isPresent();
            long v = Long.parseLong(current.get().getFileName().toString().substring(1));
            VersionFiles.verify(current.get(), v);
        }
        ModelVersions reopened = ModelVersions.open(root, 1000);
        try (var s = Files.list(root.resolve("versions"))) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("."))).isEmpty();
        }
        long next = reopened.publish(dir -> VersionFiles.write(dir, 0, 10));
        assertThat(next).isEqualTo(reopened.versions().get(reopened.versions().size() - 2) + 1);
    }

    private long countVersions() throws IOException {
        if (!Files.isDirectory(root.resolve("versions"))) {
            return 0;
        }
        try (var s = Files.list(root.resolve("versions"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("v")).count();
        }
    }

    /** A child process that publishes versions as fast as it can until it is killed. */
    public static final class PublishForever {
        public static void main(String[] args) throws IOException {
            ModelVersions versions = ModelVersions.open(Path.of(args[0]), 1000);
            while (true) {
                long next = versions.versions().stream().mapToLong(Long::longValue).max().orElse(0) + 1;
                versions.publish(dir -> VersionFiles.write(dir, next, 200_000));
            }
        }
    }

    /** Version contents that can be checked for completeness: files whose bytes depend on the version. */
    static final class VersionFiles {
        static void write(Path dir, long version, int bytes) throws IOException {
            for (int f = 0; f < 3; f++) {
                byte[] b = new byte[bytes];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) (version * 31 + f * 7 + i);
                }
                Files.write(dir.resolve("part-" + f), b);
            }
            Files.writeString(dir.resolve("manifest"), version + " " + bytes, StandardCharsets.UTF_8);
        }

        static void verify(Path dir, long version) throws IOException {
            String[] manifest = Files.readString(dir.resolve("manifest")).split(" ");
            long written = Long.parseLong(manifest[0]);
            int bytes = Integer.parseInt(manifest[1]);
            for (int f = 0; f < 3; f++) {
                byte[] b = Files.readAllBytes(dir.resolve("part-" + f));
                assertThat(b).as("part %d of %s", f, dir).hasSize(bytes);
                for (int i = 0; i < b.length; i++) {
                    if (b[i] != (byte) (written * 31 + f * 7 + i)) {
                        throw new AssertionError("byte " + i + " of part " + f + " in " + dir + " is wrong");
                    }
                }
            }
            if (version != 0 && written != version) {
                throw new AssertionError(dir + " holds the files of version " + written);
            }
        }
    }
}
