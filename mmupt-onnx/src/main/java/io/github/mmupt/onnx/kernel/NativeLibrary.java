package io.github.mmupt.onnx.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and loads the native kernel library, once per JVM.
 *
 * <p>Where it looks, in order: the file named by the system property {@value #PATH_PROPERTY}; then the copy
 * packaged in this jar for the current platform ({@code io/github/mmupt/onnx/kernel/native/<os>-<arch>/}:
 * {@code linux-x86_64}, and {@code linux-aarch64} when the build had Debian's cross compiler), extracted to a
 * temporary file that is deleted once loaded. It logs which one it loaded. When neither works, {@link #load()}
 * throws an error that names both places and the platforms this jar has.
 *
 * <pre>{@code
 * java -Dmmupt.native.library=/opt/mmupt/libmmupt_kernel.so ...
 * }</pre>
 */
public final class NativeLibrary {

    /** A path to a build of the kernel library to load instead of the packaged one. */
    public static final String PATH_PROPERTY = "mmupt.native.library";
    /** The platforms a build of this library may package; {@link #packagedPlatforms()} says which this jar has. */
    static final List<String> KNOWN_PLATFORMS = List.of("linux-x86_64", "linux-aarch64", "macos-x86_64",
            "macos-aarch64", "windows-x86_64");
    private static final String RESOURCE_ROOT = "io/github/mmupt/onnx/kernel/native/";
    private static final Logger LOG = LoggerFactory.getLogger(NativeLibrary.class);

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;
    private static volatile UnsatisfiedLinkError failure;

    private NativeLibrary() {
    }

    /**
     * The platform folder name: {@code linux-x86_64}, {@code linux-aarch64}, ...
     *
     * @return for example {@code linux-x86_64}
     */
    public static String platform() {
        return platform(System.getProperty("os.name", "unknown"), System.getProperty("os.arch", "unknown"));
    }

    /** The platform folder name for an {@code os.name} and {@code os.arch}. */
    static String platform(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = osArch.toLowerCase(Locale.ROOT);
        String osPart = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows"
                : os.replace(' ', '_');
        String archPart = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return osPart + "-" + archPart;
    }

    /** The library's file name on a platform: {@code .so} on Linux, {@code .dylib} on macOS, {@code .dll} on Windows. */
    static String libraryFile(String platform) {
        return platform.startsWith("macos-") ? "libmmupt_kernel.dylib"
                : platform.startsWith("windows-") ? "mmupt_kernel.dll" : "libmmupt_kernel.so";
    }

    /**
     * The resource path of the packaged library for this platform.
     *
     * @return the path inside the jar
     */
    public static String resourcePath() {
        return resourcePath(platform());
    }

    private static String resourcePath(String platform) {
        return RESOURCE_ROOT + platform + "/" + libraryFile(platform);
    }

    /**
     * The platforms this jar packages a kernel for (linux-x86_64, and linux-aarch64 where it was cross-built).
     *
     * @return platform folder names
     */
    public static List<String> packagedPlatforms() {
        ClassLoader loader = NativeLibrary.class.getClassLoader();
        return KNOWN_PLATFORMS.stream().filter(p -> loader.getResource(resourcePath(p)) != null).toList();
    }

    /**
     * Whether the library is (or can be) loaded; never throws.
     *
     * @return whether the kernel can be used
     */
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
                boolean packaged = override == null || override.isBlank();
                Path file = locate(override);
                try {
                    System.load(file.toString());
                    LOG.info("loaded the native kernel for {} from {}", platform(),
                            packaged ? "this jar (" + resourcePath() + ")" : file);
                } finally {
                    if (packaged) {
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
                throw new IOException("no kernel library is packaged for platform " + platform() + "; this jar has "
                        + packagedPlatforms() + " (every gradient then runs in the pure-Java reference, 50-80x slower)");
            }
            Path dir = Files.createTempDirectory("mmupt-kernel");
            Path file = dir.resolve(libraryFile(platform()));
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            dir.toFile().deleteOnExit(); // registered first, so deleted after the file (reverse order)
            file.toFile().deleteOnExit();
            return file;
        }
    }
}
