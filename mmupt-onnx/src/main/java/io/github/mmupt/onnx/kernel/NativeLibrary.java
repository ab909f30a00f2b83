package io.github.mmupt.onnx.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Finds and loads the native kernel library, once per JVM.
 *
 * <p>Where it looks, in order: the file named by the system property {@value #PATH_PROPERTY}; then the copy
 * packaged in this jar for the current platform ({@code io/github/mmupt/onnx/kernel/native/<os>-<arch>/}),
 * extracted to a temporary file. When neither works, {@link #load()} throws an error that names both.
 *
 * <pre>{@code
 * java -Dmmupt.native.library=/opt/mmupt/libmmupt_kernel.so ...
 * }</pre>
 */
public final class NativeLibrary {

    /** A path to a build of the kernel library to load instead of the packaged one. */
    public static final String PATH_PROPERTY = "mmupt.native.library";
    static final String LIBRARY_FILE = "libmmupt_kernel.so";

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;
    private static volatile UnsatisfiedLinkError failure;

    private NativeLibrary() {
    }

    /** The platform folder name: {@code linux-x86_64}, {@code linux-aarch64}, ... */
    public static String platform() {
        String os = System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String archName = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch;
        return osName + "-" + archName;
    }

    /** The resource path of the packaged library for this platform. */
    public static String resourcePath() {
        return "io/github/mmupt/onnx/kernel/native/" + platform() + "/" + LIBRARY_FILE;
    }

    /** Whether the library is (or can be) loaded; never throws. */
    public static boolean isAvailable() {
        try {
            load();
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /**
     * Loads the library if that has not happened yet.
     *
     * @throws UnsatisfiedLinkError naming where it looked, when no usable library was found
     */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (LOCK) {
            if (loaded) {
                return;
            }
            if (failure != null) {
                throw failure;
            }
            try {
                String override = System.getProperty(PATH_PROPERTY);
                Path file = locate(override);
                try {
                    System.load(file.toString());
                } finally {
                    if (override == null || override.isBlank()) {
                        // the loaded library stays mapped; its extracted copy is not needed, even if the JVM is
                        // killed later (deleteOnExit alone left one temporary directory per process behind)
                        Files.deleteIfExists(file);
                        Files.deleteIfExists(file.getParent());
                    }
                }
                loaded = true;
            } catch (UnsatisfiedLinkError | IOException | SecurityException e) {
                failure = failure(e);
                throw failure;
            }
        }
    }

    /** The error for a failed load: what went wrong, and both places it looked. */
    static UnsatisfiedLinkError failure(Throwable cause) {
        UnsatisfiedLinkError error = new UnsatisfiedLinkError("the native kernel could not be loaded: " + cause.getMessage()
                + " (looked for the system property " + PATH_PROPERTY + ", then the resource /" + resourcePath()
                + " for platform " + platform() + ")");
        error.initCause(cause);
        return error;
    }

    /** The library file: {@code override} when set, else the packaged copy, extracted. */
    static Path locate(String override) throws IOException {
        if (override != null && !override.isBlank()) {
            Path path = Path.of(override).toAbsolutePath();
            if (!Files.isRegularFile(path)) {
                throw new IOException("the file " + path + " named by " + PATH_PROPERTY + " does not exist");
            }
            return path;
        }
        try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(resourcePath())) {
            if (in == null) {
                throw new IOException("no kernel library is packaged for platform " + platform());
            }
            Path dir = Files.createTempDirectory("mmupt-kernel");
            Path file = dir.resolve(LIBRARY_FILE);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            dir.toFile().deleteOnExit(); // registered first, so deleted after the file (reverse order)
            file.toFile().deleteOnExit();
            return file;
        }
    }
}
