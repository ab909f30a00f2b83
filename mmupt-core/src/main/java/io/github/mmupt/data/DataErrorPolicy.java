package io.github.mmupt.data;

/** What a dataset reader does with a line it cannot use (malformed JSON, a missing field, an unreadable image). */
public enum DataErrorPolicy {
    /** Stop with an error that names the file and line. */
    FAIL,
    /** Leave the line out, count it, and report it in the dataset's {@code skipped()} list and the log. */
    SKIP
}
