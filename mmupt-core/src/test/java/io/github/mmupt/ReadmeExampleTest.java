package io.github.mmupt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles the README's API example against this build and runs its test methods, so the README cannot
 * drift from the API.
 */
class ReadmeExampleTest {

    private static final Pattern EXAMPLE = Pattern.compile(
            "<!-- readme-api-example:start -->\\s*```java\\n(.*?)```\\s*<!-- readme-api-example:end -->", Pattern.DOTALL);
    private static final Pattern CLASS_NAME = Pattern.compile("\\bclass\\s+(\\w+)");

    @Test
    void readmeApiExampleCompilesAndPasses(@TempDir Path work) throws Exception {
        String readme = Files.readString(findReadme());
        Matcher m = EXAMPLE.matcher(readme);
        assertThat(m.find()).as("README.md has a marked Java API example").isTrue();
        String source = m.group(1);
        Matcher name = CLASS_NAME.matcher(source);
        assertThat(name.find()).as("the example declares a class").isTrue();
        String className = name.group(1);

        Path file = work.resolve(className + ".java");
        Files.writeString(file, source);
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        assertThat(compiler).as("a JDK (not a JRE) runs the tests").isNotNull();
        int status = compiler.run(null, null, null, "-d", work.toString(), "-classpath",
                System.getProperty("java.class.path"), file.toString());
        assertThat(status).as("the README example compiles").isZero();

        try (URLClassLoader loader = new URLClassLoader(new URL[] {work.toUri().toURL()},
                getClass().getClassLoader())) {
            Class<?> example = loader.loadClass(className);
            var constructor = example.getDeclaredConstructor();
            constructor.setAccessible(true);
            Object instance = constructor.newInstance();
            List<Method> tests = new ArrayList<>();
            for (Method method : example.getDeclaredMethods()) {
                if (method.isAnnotationPresent(Test.class)) {
                    tests.add(method);
                }
            }
            assertThat(tests).as("the example has test methods").isNotEmpty();
            for (Method method : tests) {
                method.setAccessible(true);
                method.invoke(instance); // an assertion failure inside surfaces here
            }
        }
    }

    private static Path findReadme() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path readme = dir.resolve("README.md");
            if (Files.isRegularFile(readme) && Files.isDirectory(dir.resolve("mmupt-core"))) {
                return readme;
            }
        }
        throw new IOException("README.md not found above " + Path.of("").toAbsolutePath());
    }
}
