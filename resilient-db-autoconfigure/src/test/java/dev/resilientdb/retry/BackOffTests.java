package dev.resilientdb.retry;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.autoconfigure.FrameworkRetryLoop;
import org.junit.jupiter.api.Test;

import org.springframework.dao.CannotAcquireLockException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.DataAccessException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The waits the engine chooses between attempts. (No database: the failures are thrown by the test;
 * what PostgreSQL raises, and that the engine survives it, is shown by {@link RetryIntegrationTests}
 * and the sample's fault suite.)
 */
class BackOffTests {

    private static final RetrySettings NO_JITTER = new RetrySettings(5, Duration.ofMillis(20), 2.0,
            Duration.ofMillis(1_000), Duration.ofMillis(50), 0, Duration.ofSeconds(5));

    @Test
    void outageFailuresBackOffExponentially() {
        List<Long> delays = delaysBeforeSuccess(
                new DataAccessResourceFailureException("gone", new SQLException("x", "08006")));
        assertThat(delays).containsExactly(20L, 40L, 80L, 160L);
    }

    @Test
    void serializationFailuresAndDeadlocksBackOffOnlyUpToTheContentionCap() {
        assertThat(delaysBeforeSuccess(new CannotAcquireLockException("conflict", new SQLException("x", "40001"))))
            .containsExactly(20L, 40L, 50L, 50L);
        assertThat(delaysBeforeSuccess(new CannotAcquireLockException("deadlock", new SQLException("x", "40P01"))))
            .containsExactly(20L, 40L, 50L, 50L);
    }

    /** Fails four times with the given failure, then succeeds; returns the waits the engine chose. */
    private static List<Long> delaysBeforeSuccess(DataAccessException failure) {
        List<Long> delays = new CopyOnWriteArrayList<>();
        TransactionRetryListener listener = new TransactionRetryListener() {
            @Override
            public void onRetry(int attempt, Throwable ignored, Duration delay) {
                delays.add(delay.toMillis());
            }
        };
        RetryEngine engine = new RetryEngine(new FrameworkRetryLoop(), new SqlStateFailureClassifier(), List.of(listener));
        AtomicInteger attempts = new AtomicInteger();
        String result = engine.execute(() -> {
            if (attempts.incrementAndGet() < 5) {
                throw failure;
            }
            return "done";
        }, NO_JITTER, false);
        assertThat(result).isEqualTo("done");
        return delays;
    }

}
