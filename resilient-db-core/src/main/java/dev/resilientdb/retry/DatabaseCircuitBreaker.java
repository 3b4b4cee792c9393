package dev.resilientdb.retry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import dev.resilientdb.pool.DatabaseAvailability;
import dev.resilientdb.pool.DatabaseState;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;


/**
 * Fails calls fast while the database is unavailable. Only outage failures count: connection errors
 * (class 08), shutdowns (57P0x) and refused connections (53300), not constraint violations or
 * serialization failures, and not an exhausted pool on a healthy database. Thread-safe.
 * <p>
 * With a {@link DatabaseState} (a HikariCP pool the starter can probe), the decision is the state's:
 * calls fail fast while its outage, known from failed attempts and a probe outside the pool, has
 * lasted the fail-fast time, whatever the traffic, and pass again as soon as the probe finds the
 * database answering. Read-only work still passes while the database only refuses writes.
 * <p>
 * Without one, Resilience4j's circuit breaker decides from the outcomes of whole units of work: it
 * opens when outage failures make up at least the threshold of the calls within the sliding window
 * (a unit of work that retries through a restart counts once, as a success), and closes when trial
 * calls succeed after the wait.
 */
public final class DatabaseCircuitBreaker implements AutoCloseable {

    private static final Log logger = LogFactory.getLog(DatabaseCircuitBreaker.class);

    @Nullable
    private final CircuitBreaker breaker;

    @Nullable
    private final DatabaseState databaseState;

    private final Duration retryAfter;

    private final List<Consumer<String>> stateListeners = new CopyOnWriteArrayList<>();

    /**
     * A breaker that decides from the outcomes of whole units of work, for a DataSource whose
     * database the starter cannot probe.
     * @param failureRateThreshold share of outage failures (percent) that opens the breaker
     * @param slidingWindow the span of recent calls the failure rate is computed over
     * @param minimumCalls fewest calls in the window before the rate counts
     * @param waitInOpenState how long calls fail fast before trial calls go through
     * @param trialCalls how many trial calls decide whether to close again
     */
    public DatabaseCircuitBreaker(float failureRateThreshold, Duration slidingWindow, int minimumCalls,
            Duration waitInOpenState, int trialCalls) {
        this.databaseState = null;
        this.retryAfter = waitInOpenState;
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
        this.breaker.getEventPublisher().onStateTransition(event -> {
            CircuitBreaker.State to = event.getStateTransition().getToState();
            if (to == CircuitBreaker.State.OPEN) {
                // Callers get failures from now on: said once.
                logger.error("resilient-db: circuit breaker " + event.getStateTransition().getFromState() + " -> " + to
                        + ": the database keeps failing with connection errors; calls fail fast until it answers again");
            }
            else {
                logger.info("resilient-db: circuit breaker " + event.getStateTransition().getFromState() + " -> " + to);
            }
            this.stateListeners.forEach(listener -> listener.accept(state()));
        });
    }

    /**
     * A breaker that fails calls fast while the database's state says so.
     * @param databaseState the pool's view of its database, closed with this breaker
     * @param retryAfter what a refused caller is told to wait before it tries again
     */
    public DatabaseCircuitBreaker(DatabaseState databaseState, Duration retryAfter) {
        this.breaker = null;
        this.databaseState = databaseState;
        this.retryAfter = retryAfter;
        databaseState.onChange(new Consumer<>() {

            private boolean failingFast;

            @Override
            public void accept(DatabaseState.Snapshot snapshot) {
                if (snapshot.failingFast() != this.failingFast) {
                    this.failingFast = snapshot.failingFast();
                    DatabaseCircuitBreaker.this.stateListeners.forEach(listener -> listener.accept(state()));
                }
            }

        });
    }

    /** Tells the listener the new state (as {@link #state()}) after every transition. */
    public void onStateChange(Consumer<String> listener) {
        this.stateListeners.add(listener);
    }

    /** The database's state behind this breaker, when the starter can probe it; {@code null} otherwise. */
    @Nullable
    public DatabaseState databaseState() {
        return this.databaseState;
    }

    /** A breaker that never opens. */
    public static DatabaseCircuitBreaker disabled() {
        return new DatabaseCircuitBreaker(100f, Duration.ofSeconds(1), Integer.MAX_VALUE, Duration.ofSeconds(1), 1);
    }

    /**
     * Runs a whole unit of work, retries included, as one call through the breaker.
     * @param readOnly whether the unit of work's transaction is read-only, which a database that
     * only refuses writes still serves
     * @throws DatabaseUnavailableException when calls fail fast
     */
    public <T> T call(UnitOfWork<T> unitOfWork, boolean readOnly) throws Throwable {
        if (this.databaseState != null) {
            DatabaseState.Snapshot state = this.databaseState.current();
            if (failsFast(state, readOnly)) {
                throw unavailable(state, null);
            }
            T result = unitOfWork.run();
            this.databaseState.attemptSucceeded(readOnly);
            return result;
        }
        CircuitBreaker breaker = breaker();
        if (!breaker.tryAcquirePermission()) {
            throw new DatabaseUnavailableException("The database is unavailable (circuit breaker "
                    + breaker.getState() + "); failing fast", this.retryAfter);
        }
        long start = System.nanoTime();
        try {
            T result = unitOfWork.run();
            breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            return result;
        }
        catch (Throwable ex) {
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, ex);
            throw ex;
        }
    }

    /** Runs a whole unit of work of a writable transaction through the breaker, as {@link #call(UnitOfWork, boolean)}. */
    public <T> T call(UnitOfWork<T> unitOfWork) throws Throwable {
        return call(unitOfWork, false);
    }

    /** Evidence from one failed attempt, as it happens: a sign of an outage starts the probe. */
    public void attemptFailed(Throwable failure) {
        if (this.databaseState != null) {
            this.databaseState.attemptFailed(failure);
        }
    }

    /**
     * The failure a caller gets instead of its retries once calls fail fast.
     * @param lastFailure the caller's last attempt's failure, kept as the cause
     */
    DatabaseUnavailableException unavailable(Throwable lastFailure) {
        return unavailable((this.databaseState != null) ? this.databaseState.current() : null, lastFailure);
    }

    private DatabaseUnavailableException unavailable(DatabaseState.@Nullable Snapshot state, @Nullable Throwable lastFailure) {
        String what = (state != null) ? state.describe() : "circuit breaker " + breaker().getState();
        DatabaseUnavailableException ex = new DatabaseUnavailableException(
                "The database is unavailable (" + what + "); failing fast", this.retryAfter);
        if (lastFailure != null) {
            ex.initCause(lastFailure);
        }
        return ex;
    }

    private static boolean failsFast(DatabaseState.Snapshot state, boolean readOnly) {
        return state.failingFast() && !(readOnly && state.availability() == DatabaseAvailability.READ_ONLY);
    }

    /**
     * Whether a retrying unit of work stops retrying now.
     * @param readOnly whether its transaction is read-only
     */
    boolean stopsRetrying(boolean readOnly) {
        if (this.databaseState != null) {
            return failsFast(this.databaseState.current(), readOnly);
        }
        CircuitBreaker.State state = breaker().getState();
        return state == CircuitBreaker.State.OPEN || state == CircuitBreaker.State.FORCED_OPEN;
    }

    /** Ends the database state's probing; the breaker is not used after this. */
    @Override
    public void close() {
        if (this.databaseState != null) {
            this.databaseState.close();
        }
    }

    /** The name of the pool whose database state decides, or {@code default} for a breaker deciding from outcomes. */
    public String name() {
        return (this.databaseState != null) ? this.databaseState.name() : "default";
    }

    /**
     * The breaker's state: {@code closed} or {@code open} (or, deciding from outcomes, another
     * Resilience4j state such as {@code half_open}, lower case).
     */
    public String state() {
        if (this.databaseState != null) {
            return this.databaseState.current().failingFast() ? "open" : "closed";
        }
        return breaker().getState().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Resilience4j's breaker, which decides wherever there is no database state (exactly one of the two is set). */
    private CircuitBreaker breaker() {
        CircuitBreaker breaker = this.breaker;
        if (breaker == null) {
            throw new IllegalStateException("A circuit breaker with a database state has no Resilience4j breaker");
        }
        return breaker;
    }

    static boolean isOutage(Throwable failure) {
        if (failure instanceof CommitOutcomeUnknownException) {
            return true;
        }
        String state = SqlStates.of(failure);
        return state != null && (state.startsWith("08") || state.startsWith("57P0") || state.equals("53300"))
                && !SqlStates.isRefusedForGood(failure);
    }

}
