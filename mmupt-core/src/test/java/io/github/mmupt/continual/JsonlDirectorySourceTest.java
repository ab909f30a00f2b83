package io.github.mmupt.continual;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.mmupt.data.Example;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlDirectorySourceTest {

    @TempDir
    Path drop;

    private static String line(String problem) {
        return "{\"problem\": \"" + problem + "\", \"images\": []}\n";
    }

    @Test
    void readsEachCompleteFileOnceInNameOrderSkippingBadLinesAndUnreadableFiles() throws Exception {
        Files.writeString(drop.resolve("b.jsonl"), line("third") + "{not json\n" + line("fourth"));
        Files.writeString(drop.resolve("a.jsonl"), line("first") + line("second"));
        Files.writeString(drop.resolve("c.jsonl.tmp"), line("still being written"));
        Files.write(drop.resolve("0-broken.jsonl"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        JsonlDirectorySource source = new JsonlDirectorySource(drop, Duration.ofMillis(10));
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            got.add(source.poll(Duration.ofSeconds(5)).orElseThrow().prompt().question());
        }
        assertThat(got).containsExactly("first", "second", "third", "fourth");
        assertThat(source.poll(Duration.ofMillis(50))).isEmpty();
        assertThat(drop.resolve("a.jsonl.done")).exists();
        assertThat(drop.resolve("b.jsonl.done")).exists();
        assertThat(drop.resolve("c.jsonl.tmp")).exists();
        assertThat(Files.exists(drop.resolve("0-broken.jsonl.failed")) || Files.exists(drop.resolve("0-broken.jsonl.done")))
                .isTrue();
        // a file that appears later (renamed into place by its producer) is picked up by a waiting poll
        Files.move(drop.resolve("c.jsonl.tmp"), drop.resolve("c.jsonl"));
        Optional<Example> late = source.poll(Duration.ofSeconds(5));
        assertThat(late.orElseThrow().prompt().question()).isEqualTo("still being written");
        assertThat(source.exhausted()).isFalse();
    }
}
