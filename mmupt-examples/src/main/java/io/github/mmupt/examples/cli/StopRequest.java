package io.github.mmupt.examples.cli;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ctrl-C (SIGINT) or SIGTERM for a training command: the JVM's shutdown hook sets the request and then waits for
 * the training thread, which sees it between steps ({@code MmUpt.Builder.stopWhen}), saves a checkpoint and
 * returns; the hook gives it at most {@code grace} before the JVM goes down anyway.
 */
final class StopRequest {

    private static final AtomicBoolean SHUTDOWN = new AtomicBoolean();

    private final AtomicBoolean requested = new AtomicBoolean();
    private final Thread hook;

    private StopRequest(Thread hook) {
        this.hook = hook;
    }

    /**
     * Installs the hook for the calling (training) thread.
     *
     * @param graceSeconds how long the hook waits for the step in progress to finish and its checkpoint to be written
     * @param notice printed when the request arrives
     * @return the request, to hand to {@code stopWhen}
     */
    static StopRequest install(long graceSeconds, Runnable notice) {
        Thread trainer = Thread.currentThread();
        StopRequest[] self = new StopRequest[1];
        Thread hook = new Thread(() -> {
            SHUTDOWN.set(true);
            self[0].requested.set(true);
            notice.run();
            try {
                trainer.join(TimeUnit.SECONDS.toMillis(graceSeconds));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "mmupt-stop");
        self[0] = new StopRequest(hook);
        Runtime.getRuntime().addShutdownHook(hook);
        return self[0];
    }

    /** {@return whether a stop was asked for} */
    boolean requested() {
        return requested.get();
    }

    /** Removes the hook once training is over (a no-op while the JVM is already shutting down). */
    void uninstall() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it waits for this thread, which is about to return
        }
    }

    /** {@return whether a shutdown hook of this runner has started (then main must not call System.exit)} */
    static boolean shutdownStarted() {
        return SHUTDOWN.get();
    }
}
