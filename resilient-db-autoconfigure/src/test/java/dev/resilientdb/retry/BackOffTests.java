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

    /** Short caps (8 ms, 4 ms after contention) so that hundreds of real pauses take a few seconds. */
    private static final RetrySettings JITTER = new RetrySettings(301, Duration.ofMillis(2), 2.0,
            Duration.ofMillis(8), Duration.ofMillis(4), 0.5, Duration.ofSeconds(60));

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

    /**
     * Issue 14: logged pauses reached 2.4 s with {@code max-interval} 2 s, because the jitter was added
     * after the cap. Hundreds of draws, most of them at the cap: none above it, and still spread below it.
     */
    @Test
    void jitteredPausesNeverExceedMaxIntervalAndStillSpreadBelowIt() {
        List<Long> delays = delaysBeforeSuccess(
                new DataAccessResourceFailureException("gone", new SQLException("x", "08006")), JITTER, 300);
        assertThat(delays).hasSize(300).allSatisfy(delay -> assertThat(delay).isBetween(0L, 8L));
        assertThat(delays.subList(10, 300)).as("pauses at the cap keep their spread").contains(8L).anyMatch(delay -> delay <= 5);
    }

    @Test
    void jitteredPausesAfterContentionNeverExceedTheContentionCap() {
        List<Long> delays = delaysBeforeSuccess(
                new CannotAcquireLockException("conflict", new SQLException("x", "40001")), JITTER, 300);
        assertThat(delays).hasSize(300).allSatisfy(delay -> assertThat(delay).isBetween(0L, 4L));
        assertThat(delays.subList(10, 300)).as("pauses at the cap keep their spread").contains(4L).anyMatch(delay -> delay <= 3);
    }

    /** Fails four times with the given failure, then succeeds; returns the waits the engine chose. */
    private static List<Long> delaysBeforeSuccess(DataAccessException failure) {
        return delaysBeforeSuccess(failure, NO_JITTER, 4);
    }

    /** Fails the given number of times with the given failure, then succeeds; returns the waits the engine chose. */
    private static List<Long> delaysBeforeSuccess(DataAccessException failure, RetrySettings settings, int failures) {
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
            if (attempts.incrementAndGet() <= failures) {
                throw failure;
            }
            return "done";
        }, settings, false);
        assertThat(result).isEqualTo("done");
        return delays;
    }

}
