package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.Map;

import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.retry.RetryEngine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;

/**
 * Counts what the retry engine does, tagged by SQLSTATE class ({@code 08}, {@code 40}, {@code 53},
 * {@code 57}, or {@code none} for failures without one, such as an exhausted pool):
 * {@value #ATTEMPTS}, {@value #SUCCESSES}, {@value #EXHAUSTED}, {@value #COMMIT_UNKNOWN} and
 * {@value #REFUSED}; {@value #COMMIT_RESOLVED} (by pool and outcome) and {@value #COMMIT_UNRESOLVED} (by
 * pool) when commit outcomes are resolved; plus the circuit breaker's {@value #BREAKER_STATE} (by state) and
 * {@value #FAILED_FAST}. The
 * counters exist from start-up (at 0, tag {@code none}), so that dashboards and alerts see them
 * before the first failure.
 */
class RetryMetrics implements TransactionRetryListener, MeterBinder {

    static final String ATTEMPTS = "resilientdb.retry.attempts";

    static final String SUCCESSES = "resilientdb.retry.successes";

    static final String EXHAUSTED = "resilientdb.retry.exhausted";

    static final String COMMIT_UNKNOWN = "resilientdb.commit.unknown";

    static final String REFUSED = "resilientdb.retry.refused";

    static final String COMMIT_RESOLVED = "resilientdb.commit.resolved";

    static final String COMMIT_UNRESOLVED = "resilientdb.commit.unresolved";

    static final String FAILED_FAST = "resilientdb.circuitbreaker.rejected";

    static final String BREAKER_STATE = "resilientdb.circuitbreaker.state";

    private static final String TAG = "sqlstate.class";

    private static final Map<String, String> DESCRIPTIONS = Map.of(
            ATTEMPTS, "Retries of a unit of work after a transient failure",
            SUCCESSES, "Units of work that succeeded after at least one retry",
            EXHAUSTED, "Units of work given up after transient failures (attempts or deadline exhausted)",
            COMMIT_UNKNOWN, "Commits whose outcome is unknown, not retried because the unit of work is not idempotent",
            REFUSED, "Retries refused because the application-wide retry budget was spent");

    private final ObjectProvider<MeterRegistry> registries;

    private final ObjectProvider<RetryEngine> engine;

    RetryMetrics(ObjectProvider<MeterRegistry> registries, ObjectProvider<RetryEngine> engine) {
        this.registries = registries;
        this.engine = engine;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        DESCRIPTIONS.forEach((name, description) -> counter(registry, name, "none"));
        Counter.builder(FAILED_FAST).description("Calls failed at once because the circuit breaker was open")
            .register(registry);
        for (String state : new String[] { "closed", "open", "half_open" }) {
            Gauge.builder(BREAKER_STATE, this.engine, engine -> state.equals(engine.getObject().circuitBreakerState()) ? 1 : 0)
                .description("1 for the circuit breaker's current state, 0 for the others")
                .tag("state", state)
                .register(registry);
        }
    }

    @Override
    public void onRetryRefused(int attempt, Throwable failure) {
        count(REFUSED, failure);
    }

    @Override
    public void onFailedFast() {
        MeterRegistry registry = this.registries.getIfAvailable();
        if (registry != null) {
            registry.counter(FAILED_FAST).increment();
        }
    }

    @Override
    public void onRetry(int attempt, Throwable failure, Duration delay) {
        count(ATTEMPTS, failure);
    }

    @Override
    public void onSuccessAfterRetry(int attempts, Throwable lastFailure) {
        count(SUCCESSES, lastFailure);
    }

    @Override
    public void onExhausted(int attempts, Throwable lastFailure) {
        count(EXHAUSTED, lastFailure);
    }

    @Override
    public void onCommitOutcomeUnknown(int attempt, Throwable failure) {
        count(COMMIT_UNKNOWN, failure);
    }

    @Override
    public void onCommitOutcomeResolved(String pool, boolean committed) {
        MeterRegistry registry = this.registries.getIfAvailable();
        if (registry != null) {
            Counter.builder(COMMIT_RESOLVED)
                .description("Commits whose reply was lost, resolved by asking the server (committed, or aborted and retried)")
                .tag("pool", pool)
                .tag("outcome", committed ? "committed" : "aborted")
                .register(registry)
                .increment();
        }
    }

    @Override
    public void onCommitOutcomeUnresolved(String pool, String reason) {
        MeterRegistry registry = this.registries.getIfAvailable();
        if (registry != null) {
            Counter.builder(COMMIT_UNRESOLVED)
                .description("Commits whose reply was lost and whose outcome the server could not prove")
                .tag("pool", pool)
                .register(registry)
                .increment();
        }
    }

    private void count(String name, Throwable failure) {
        MeterRegistry registry = this.registries.getIfAvailable();
        if (registry != null) {
            counter(registry, name, SqlStates.classOf(failure)).increment();
        }
    }

    private static Counter counter(MeterRegistry registry, String name, String sqlStateClass) {
        return Counter.builder(name).description(DESCRIPTIONS.get(name)).tag(TAG, sqlStateClass).register(registry);
    }

}
