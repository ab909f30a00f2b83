package io.github.mmupt.data;

import java.io.IOException;
import java.nio.file.Path;

/** A dataset line that cannot be used; the message names the file, the line and what was wrong. */
public final class DatasetException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The 1-based line number. */
    private final int line;

    /**
     * A bad line.
     *
     * @param file the dataset file
     * @param line its 1-based line number
     * @param problem what was wrong
     */
    public DatasetException(Path file, int line, String problem) {
        super(file + ":" + line + ": " + problem);
        this.line = line;
    }

    /** {@return the 1-based line number} */
    public int line() {
        return line;
    }
}
