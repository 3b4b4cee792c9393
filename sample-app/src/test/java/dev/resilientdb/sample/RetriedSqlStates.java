package dev.resilientdb.sample;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransactionRetryListener;

import org.springframework.context.annotation.Bean;

/**
 * Counts the SQLSTATEs the retry engine retried, so a fault test can show that its fault reached the
 * application (and not only that nothing went wrong), and the retries the retry budget refused.
 */
class RetriedSqlStates implements TransactionRetryListener {

    private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();

    private final AtomicLong refused = new AtomicLong();

    private final AtomicLong resolvedCommitted = new AtomicLong();

    private final AtomicLong resolvedAborted = new AtomicLong();

    private final AtomicLong unresolved = new AtomicLong();

    @Override
    public void onRetry(int attempt, Throwable failure, Duration delay) {
        this.counts.computeIfAbsent(String.valueOf(SqlStates.of(failure)), state -> new AtomicLong()).incrementAndGet();
    }

    @Override
    public void onRetryRefused(int attempt, Throwable failure) {
        this.refused.incrementAndGet();
    }

    @Override
    public void onCommitOutcomeResolved(String pool, boolean committed) {
        (committed ? this.resolvedCommitted : this.resolvedAborted).incrementAndGet();
    }

    @Override
    public void onCommitOutcomeUnresolved(String pool, String reason) {
        this.unresolved.incrementAndGet();
    }

    /** "lost commit replies: 2 committed, 5 not, 0 unknown", or "" when no reply was lost. */
    String commitOutcomes() {
        long committed = this.resolvedCommitted.get();
        long aborted = this.resolvedAborted.get();
        long unknown = this.unresolved.get();
        return (committed + aborted + unknown == 0) ? ""
                : "; lost commit replies: " + committed + " committed, " + aborted + " not, " + unknown + " unknown";
    }

    /** Retries the retry budget refused: each ends its unit of work with the failure (a 503 in the sample). */
    long refused() {
        return this.refused.get();
    }

    long count(String state) {
        AtomicLong count = this.counts.get(state);
        return (count != null) ? count.get() : 0;
    }

    void reset() {
        this.counts.clear();
        this.refused.set(0);
        this.resolvedCommitted.set(0);
        this.resolvedAborted.set(0);
        this.unresolved.set(0);
    }

    /** "retried: 57P01×12, 08006×3", or "no retries". */
    String summary() {
        Map<String, Long> sorted = new TreeMap<>();
        this.counts.forEach((state, count) -> sorted.put(state, count.get()));
        if (sorted.isEmpty()) {
            return "no retries";
        }
        StringBuilder summary = new StringBuilder("retried:");
        sorted.forEach((state, count) -> summary.append(' ').append(state).append('×').append(count));
        return summary.toString();
    }

    /**
     * Imported by the tests that record retries. Not a {@code @TestConfiguration}: the component scan of
     * {@code spring-boot:test-run} sees the test classes and would add it to the development run.
     */
    static class Recording {

        @Bean
        RetriedSqlStates retriedSqlStates() {
            return new RetriedSqlStates();
        }

    }

}
