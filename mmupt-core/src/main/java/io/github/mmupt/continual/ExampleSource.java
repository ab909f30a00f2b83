package io.github.mmupt.continual;

import io.github.mmupt.data.Example;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An unbounded supply of unlabeled examples for a {@link ContinualRunner}: an iterator, a queue the host
 * application feeds, or a directory where JSONL files appear ({@link JsonlDirectorySource}).
 *
 * <pre>{@code
 * BlockingQueue<Example> incoming = new LinkedBlockingQueue<>(10_000);   // request threads offer() to it
 * ExampleSource source = ExampleSource.of(incoming);
 * }</pre>
 *
 * <p>Threading: only the runner's thread calls {@link #poll}; producers use their own structure (the queue).
 */
public interface ExampleSource {

    /**
     * The next example, waiting at most {@code timeout} for one to arrive.
     *
     * @param timeout how long to wait
     * @return the next example; empty when none arrived in time or the source is exhausted
     * @throws InterruptedException when the waiting thread is interrupted (the runner is being stopped)
     */
    Optional<Example> poll(Duration timeout) throws InterruptedException;

    /** {@return true when no example will ever come again (a finite iterator at its end); false by default} */
    default boolean exhausted() {
        return false;
    }

    /**
     * A source over an iterator: finite or not; exhausted when the iterator has no next element.
     *
     * @param examples the examples, consumed on the runner's thread
     * @return the source
     */
    static ExampleSource of(Iterator<Example> examples) {
        if (examples == null) {
            throw new IllegalArgumentException("the iterator must not be null");
        }
        return new ExampleSource() {
            @Override
            public Optional<Example> poll(Duration timeout) {
                return examples.hasNext() ? Optional.of(examples.next()) : Optional.empty();
            }

            @Override
            public boolean exhausted() {
                return !examples.hasNext();
            }
        };
    }

    /**
     * A source fed by the host application through a queue (never exhausted); a bounded queue makes producers
     * see back-pressure (a failed {@code offer}) instead of growing memory without limit.
     *
     * @param queue the queue producers add to
     * @return the source
     */
    static ExampleSource of(BlockingQueue<Example> queue) {
        if (queue == null) {
            throw new IllegalArgumentException("the queue must not be null");
        }
        return timeout -> Optional.ofNullable(queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS));
    }
}
