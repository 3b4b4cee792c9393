package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.Map;

import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransactionRetryListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;

/**
 * Counts what the retry engine does, tagged by SQLSTATE class ({@code 08}, {@code 40}, {@code 53},
 * {@code 57}, or {@code none} for failures without one, such as an exhausted pool):
 * {@value #ATTEMPTS}, {@value #SUCCESSES}, {@value #EXHAUSTED} and {@value #COMMIT_UNKNOWN}. The
 * counters exist from start-up (at 0, tag {@code none}), so that dashboards and alerts see them
 * before the first failure.
 */
class RetryMetrics implements TransactionRetryListener, MeterBinder {

    static final String ATTEMPTS = "resilientdb.retry.attempts";

    static final String SUCCESSES = "resilientdb.retry.successes";

    static final String EXHAUSTED = "resilientdb.retry.exhausted";

    static final String COMMIT_UNKNOWN = "resilientdb.commit.unknown";

    private static final String TAG = "sqlstate.class";

    private static final Map<String, String> DESCRIPTIONS = Map.of(
            ATTEMPTS, "Retries of a unit of work after a transient failure",
            SUCCESSES, "Units of work that succeeded after at least one retry",
            EXHAUSTED, "Units of work given up after transient failures (attempts or deadline exhausted)",
            COMMIT_UNKNOWN, "Commits whose outcome is unknown, not retried because the unit of work is not idempotent");

    private final ObjectProvider<MeterRegistry> registries;

    RetryMetrics(ObjectProvider<MeterRegistry> registries) {
        this.registries = registries;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        DESCRIPTIONS.forEach((name, description) -> counter(registry, name, "none"));
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
