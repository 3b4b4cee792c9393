package dev.resilientdb.retry;

import java.time.Duration;

import org.springframework.dao.DataAccessResourceFailureException;

/**
 * The database has been failing with connection errors for a while, so the call failed at once
 * instead of waiting for a connection timeout and every retry. A few trial calls go through now and
 * then; normal service resumes by itself once they succeed. A web application answers 503 with
 * {@code Retry-After: }{@link #getRetryAfter()}.
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

    /** How long until the next trial call may go through. */
    public Duration getRetryAfter() {
        return this.retryAfter;
    }

}
