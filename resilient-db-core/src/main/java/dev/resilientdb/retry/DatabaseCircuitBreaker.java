package dev.resilientdb.retry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Fails calls fast while the database is unavailable, on Resilience4j's circuit breaker (the only
 * class that uses it). Only outage failures count: connection errors (class 08), shutdowns (57P0x)
 * and refused connections (53300), not constraint violations or serialization failures, and not an
 * exhausted pool on a healthy database. The breaker opens when such failures make up at least the
 * threshold of the calls within the sliding window. A call is a whole unit of work with its
 * retries, not one attempt, so a unit of work that retries through an outage shorter than the
 * retry deadline (a restart) counts once, as a success, at any traffic. Once open, calls fail at
 * once with {@link DatabaseUnavailableException}. It closes again when a recovery check, outside the pool, finds
 * the database answering (or, without one, when trial calls succeed after the wait). Thread-safe.
 */
public final class DatabaseCircuitBreaker implements AutoCloseable {

    private static final Log logger = LogFactory.getLog(DatabaseCircuitBreaker.class);

    private final CircuitBreaker breaker;

    private final Duration waitInOpenState;

    private final BooleanSupplier recoveryCheck;

    private final List<Consumer<String>> stateListeners = new CopyOnWriteArrayList<>();

    private ScheduledExecutorService recoveryChecks;

    /**
     * @param failureRateThreshold share of outage failures (percent) that opens the breaker
     * @param slidingWindow the span of recent calls the failure rate is computed over
     * @param minimumCalls fewest calls in the window before the rate counts
     * @param waitInOpenState how long calls fail fast before trial calls go through
     * @param trialCalls how many trial calls decide whether to close again
     */
    public DatabaseCircuitBreaker(float failureRateThreshold, Duration slidingWindow, int minimumCalls,
            Duration waitInOpenState, int trialCalls) {
        this(failureRateThreshold, slidingWindow, minimumCalls, waitInOpenState, trialCalls, null);
    }

    /**
     * A breaker that, while open, asks {@code recoveryCheck} every {@code waitInOpenState} whether the
     * database is back (without the pool: see {@code DatabaseProbe}) and closes when it is, instead of
     * letting trial calls wait on a pool that has no connections.
     * @param recoveryCheck whether the database answers now; {@code null} for Resilience4j's trial calls.
     * When it is {@link AutoCloseable}, {@link #close()} closes it.
     */
    public DatabaseCircuitBreaker(float failureRateThreshold, Duration slidingWindow, int minimumCalls,
            Duration waitInOpenState, int trialCalls, BooleanSupplier recoveryCheck) {
        this.waitInOpenState = waitInOpenState;
        this.recoveryCheck = recoveryCheck;
        this.breaker = CircuitBreaker.of("resilient-db", CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.TIME_BASED)
            .slidingWindowSize((int) Math.max(1, slidingWindow.toSeconds()))
            .minimumNumberOfCalls(minimumCalls)
            .failureRateThreshold(failureRateThreshold)
            // With a recovery check, trial calls are only the fallback should the check keep failing.
            .waitDurationInOpenState((recoveryCheck != null) ? waitInOpenState.multipliedBy(30) : waitInOpenState)
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            .permittedNumberOfCallsInHalfOpenState(trialCalls)
            .recordException(DatabaseCircuitBreaker::isOutage)
            .build());
        this.breaker.getEventPublisher().onStateTransition(event -> {
            CircuitBreaker.State to = event.getStateTransition().getToState();
            logger.warn("resilient-db: circuit breaker " + event.getStateTransition().getFromState() + " -> " + to
                    + ((to == CircuitBreaker.State.OPEN)
                            ? ": the database keeps failing with connection errors; calls fail fast until it answers again"
                            : ""));
            if (to == CircuitBreaker.State.OPEN) {
                startRecoveryChecks();
            }
            else {
                stopRecoveryChecks();
            }
            this.stateListeners.forEach(listener -> listener.accept(state()));
        });
    }

    /** Tells the listener the new state (as {@link #state()}) after every transition. */
    public void onStateChange(Consumer<String> listener) {
        this.stateListeners.add(listener);
    }

    private synchronized void startRecoveryChecks() {
        if (this.recoveryCheck == null || this.recoveryChecks != null) {
            return;
        }
        this.recoveryChecks = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "resilient-db-recovery-check");
            thread.setDaemon(true);
            return thread;
        });
        long period = this.waitInOpenState.toMillis();
        this.recoveryChecks.scheduleWithFixedDelay(() -> {
            if (this.breaker.getState() == CircuitBreaker.State.OPEN && this.recoveryCheck.getAsBoolean()) {
                logger.warn("resilient-db: the database answers again; closing the circuit breaker");
                this.breaker.transitionToClosedState();
            }
        }, period, period, TimeUnit.MILLISECONDS);
    }

    private synchronized void stopRecoveryChecks() {
        if (this.recoveryChecks != null) {
            this.recoveryChecks.shutdown();
            this.recoveryChecks = null;
        }
    }

    /** A breaker that never opens. */
    public static DatabaseCircuitBreaker disabled() {
        return new DatabaseCircuitBreaker(100f, Duration.ofSeconds(1), Integer.MAX_VALUE, Duration.ofSeconds(1), 1);
    }

    /**
     * Runs a whole unit of work, retries included, as one call through the breaker: an outage that
     * retries ride out counts as a success, however many attempts it took.
     * @throws DatabaseUnavailableException when the breaker is open
     */
    public <T> T call(UnitOfWork<T> unitOfWork) throws Throwable {
        if (!this.breaker.tryAcquirePermission()) {
            throw new DatabaseUnavailableException("The database is unavailable (circuit breaker "
                    + this.breaker.getState() + "); failing fast", this.waitInOpenState);
        }
        long start = System.nanoTime();
        try {
            T result = unitOfWork.run();
            this.breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            return result;
        }
        catch (Throwable ex) {
            this.breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, ex);
            throw ex;
        }
    }

    /** Whether calls fail fast now; a unit of work that is retrying stops retrying then. */
    public boolean isOpen() {
        return this.breaker.getState() == CircuitBreaker.State.OPEN
                || this.breaker.getState() == CircuitBreaker.State.FORCED_OPEN;
    }

    /** Stops the recovery checks and closes the check; the breaker is not used after this. */
    @Override
    public void close() {
        stopRecoveryChecks();
        if (this.recoveryCheck instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            }
            catch (Exception ex) {
                logger.debug("resilient-db: closing the recovery check failed", ex);
            }
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
        return state != null && (state.startsWith("08") || state.startsWith("57P0") || state.equals("53300"))
                && !SqlStates.isLoginRejected(failure);
    }

}
