package dev.resilientdb.retry;

import java.time.Duration;

import org.springframework.dao.DataAccessResourceFailureException;

/**
 * The database has been unavailable for a while (unreachable, refusing connections, hung), so the call
 * failed at once instead of waiting for a connection timeout and every retry; or a unit of work that
 * was retrying through the outage stopped when calls began to fail fast (its last failure is the
 * cause). Nothing of it was committed, unless it is marked idempotent (which lets it run again after a
 * commit). Normal service resumes by itself as soon as the starter's probe
 * finds the database answering (for a DataSource it cannot probe, once trial calls succeed). A web
 * application answers 503 with {@code Retry-After: }{@link #getRetryAfter()}.
 */
public class DatabaseUnavailableException extends DataAccessResourceFailureException {

    private final Duration retryAfter;

    public DatabaseUnavailableException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    /**
     * No stack trace, as Resilience4j's {@code CallNotPermittedException}: while the breaker is open it
     * is thrown for every call, and its stack says only that the breaker refused the call.
     */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }

    /** How long a client should wait before it tries again. */
    public Duration getRetryAfter() {
        return this.retryAfter;
    }

}
