package io.github.mmupt.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's host-application example is the code the embedded default runs ({@link HostApplication}), line
 * for line: this keeps it compiled, run (by the smoke test) and true.
 */
class ReadmeHostExampleTest {

    private static final Pattern README = Pattern.compile(
            "<!-- readme-host-example:start -->\\s*```java\\n(.*?)```\\s*<!-- readme-host-example:end -->", Pattern.DOTALL);
    private static final Pattern CODE = Pattern.compile(
            "// readme-host-example:start\\n(.*?)\\s*// readme-host-example:end", Pattern.DOTALL);

    @Test
    void readmeShowsTheCodeTheEmbeddedDefaultRuns() throws IOException {
        Path root = root();
        Matcher inReadme = README.matcher(Files.readString(root.resolve("README.md")));
        assertThat(inReadme.find()).as("README.md has a marked host-application example").isTrue();
        Matcher inCode = CODE.matcher(Files.readString(root.resolve(
                "mmupt-examples/src/main/java/io/github/mmupt/examples/demo/HostApplication.java")));
        assertThat(inCode.find()).as("HostApplication marks its example").isTrue();
        assertThat(normalize(inReadme.group(1))).isEqualTo(normalize(inCode.group(1)));
    }

    /** Same lines up to indentation. */
    private static String normalize(String code) {
        return code.lines().map(String::strip).filter(l -> !l.isEmpty()).reduce("", (a, b) -> a + b + "\n");
    }

    private static Path root() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isDirectory(dir.resolve("mmupt-examples"))) {
                return dir;
            }
        }
        throw new IOException("the project root (README.md) is not above " + Path.of("").toAbsolutePath());
    }
}
