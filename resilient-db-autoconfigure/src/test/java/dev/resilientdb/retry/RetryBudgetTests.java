package dev.resilientdb.retry;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.autoconfigure.FrameworkRetryLoop;
import org.junit.jupiter.api.Test;

import org.springframework.dao.CannotAcquireLockException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The retry budget's arithmetic, and the engine giving up with the original failure when the
 * budget is spent. (No database: the failures are thrown by the test; what PostgreSQL raises is
 * shown by {@link RetryIntegrationTests}.)
 */
class RetryBudgetTests {

    private static final RetrySettings FAST = new RetrySettings(5, Duration.ofMillis(1), 1.0, Duration.ofMillis(1),
            Duration.ofMillis(1), 0, Duration.ofSeconds(5));

    @Test
    void retriesAreCappedAtTheRatioOfFirstAttempts() {
        RetryBudget budget = new RetryBudget(0.5, 0);
        for (int i = 0; i < 10; i++) {
            budget.firstAttempt();
        }
        for (int i = 0; i < 5; i++) {
            assertThat(budget.tryRetry()).isTrue();
        }
        assertThat(budget.tryRetry()).isFalse();
    }

    @Test
    void floorAllowsRetriesWithoutFirstAttempts() {
        RetryBudget budget = new RetryBudget(0.2, 1);
        for (int i = 0; i < 10; i++) {
            assertThat(budget.tryRetry()).isTrue();
        }
        assertThat(budget.tryRetry()).isFalse();
    }

    @Test
    void engineGivesUpWithTheOriginalFailureWhenTheBudgetIsSpent() {
        RefusalListener listener = new RefusalListener();
        RetryEngine engine = new RetryEngine(new FrameworkRetryLoop(), new SqlStateFailureClassifier(), List.of(listener),
                DatabaseCircuitBreaker.disabled(), new RetryBudget(0, 0));
        CannotAcquireLockException deadlock = new CannotAcquireLockException("deadlock", new SQLException("x", "40P01"));
        AtomicInteger attempts = new AtomicInteger();
        assertThatExceptionOfType(CannotAcquireLockException.class).isThrownBy(() -> engine.execute(() -> {
            attempts.incrementAndGet();
            throw deadlock;
        }, FAST, false)).isSameAs(deadlock);
        assertThat(attempts).hasValue(1);
        assertThat(listener.refused).hasValue(1);
    }

    @Test
    void withBudgetLeftTheEngineRetries() {
        RetryEngine engine = new RetryEngine(new FrameworkRetryLoop(), new SqlStateFailureClassifier(), List.of(), DatabaseCircuitBreaker.disabled(),
                new RetryBudget(0, 10));
        AtomicInteger attempts = new AtomicInteger();
        String result = engine.execute(() -> {
            if (attempts.incrementAndGet() < 3) {
                throw new CannotAcquireLockException("deadlock", new SQLException("x", "40P01"));
            }
            return "done";
        }, FAST, false);
        assertThat(result).isEqualTo("done");
        assertThat(attempts).hasValue(3);
    }

    static class RefusalListener implements TransactionRetryListener {

        final AtomicInteger refused = new AtomicInteger();

        @Override
        public void onRetryRefused(int attempt, Throwable failure) {
            this.refused.incrementAndGet();
        }

    }

}
