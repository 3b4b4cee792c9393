package dev.resilientdb.retry;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Fails calls fast while the database is unavailable, on Resilience4j's circuit breaker (the only
 * class that uses it). Only outage failures count: connection errors (class 08), shutdowns (57P0x)
 * and refused connections (53300), not constraint violations or serialization failures, and not an
 * exhausted pool on a healthy database. The breaker opens when such failures make up at least the
 * threshold of the calls within the sliding window, so an outage shorter than the window (a
 * restart) is ridden out by retries; then calls fail at once with
 * {@link DatabaseUnavailableException}, a few trial calls go through after the wait, and it closes
 * again when they succeed. Thread-safe.
 */
public final class DatabaseCircuitBreaker {

    private static final Log logger = LogFactory.getLog(DatabaseCircuitBreaker.class);

    private final CircuitBreaker breaker;

    private final Duration waitInOpenState;

    /**
     * @param failureRateThreshold share of outage failures (percent) that opens the breaker
     * @param slidingWindow the span of recent calls the failure rate is computed over
     * @param minimumCalls fewest calls in the window before the rate counts
     * @param waitInOpenState how long calls fail fast before trial calls go through
     * @param trialCalls how many trial calls decide whether to close again
     */
    public DatabaseCircuitBreaker(float failureRateThreshold, Duration slidingWindow, int minimumCalls,
            Duration waitInOpenState, int trialCalls) {
        this.waitInOpenState = waitInOpenState;
        this.breaker = CircuitBreaker.of("resilient-db", CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.TIME_BASED)
            .slidingWindowSize((int) Math.max(1, slidingWindow.toSeconds()))
            .minimumNumberOfCalls(minimumCalls)
            .failureRateThreshold(failureRateThreshold)
            .waitDurationInOpenState(waitInOpenState)
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            .permittedNumberOfCallsInHalfOpenState(trialCalls)
            .recordException(DatabaseCircuitBreaker::isOutage)
            .build());
        this.breaker.getEventPublisher().onStateTransition(event -> logger.warn("resilient-db: circuit breaker "
                + event.getStateTransition().getFromState() + " -> " + event.getStateTransition().getToState()
                + ((event.getStateTransition().getToState() == CircuitBreaker.State.OPEN)
                        ? ": the database keeps failing with connection errors; calls fail fast for "
                                + waitInOpenState.toMillis() + "ms"
                        : "")));
    }

    /** A breaker that never opens. */
    public static DatabaseCircuitBreaker disabled() {
        return new DatabaseCircuitBreaker(100f, Duration.ofSeconds(1), Integer.MAX_VALUE, Duration.ofSeconds(1), 1);
    }

    /**
     * Runs one attempt through the breaker.
     * @throws DatabaseUnavailableException when the breaker is open
     */
    public <T> T run(Supplier<T> attempt) {
        if (!this.breaker.tryAcquirePermission()) {
            throw new DatabaseUnavailableException("The database is unavailable (circuit breaker "
                    + this.breaker.getState() + "); failing fast", this.waitInOpenState);
        }
        long start = System.nanoTime();
        try {
            T result = attempt.get();
            this.breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            return result;
        }
        catch (RuntimeException | Error ex) {
            this.breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, ex);
            throw ex;
        }
    }

    /** The breaker's state: {@code closed}, {@code open}, {@code half_open} (or another Resilience4j state, lower case). */
    public String state() {
        return this.breaker.getState().name().toLowerCase(java.util.Locale.ROOT);
    }

    static boolean isOutage(Throwable failure) {
        if (failure instanceof CommitOutcomeUnknownException) {
            return true;
        }
        String state = SqlStates.of(failure);
        return state != null && (state.startsWith("08") || state.startsWith("57P0") || state.equals("53300"));
    }

}
