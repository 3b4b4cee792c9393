package dev.resilientdb.retry;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import dev.resilientdb.pool.DatabaseAvailability;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 19: fail-fast and recovery decided from the database's state (failed attempts and a probe
 * outside the pool), not from how many units of work finished, on a dedicated server that is
 * really stopped. Bounds are loose (a loaded 2-core machine); the figures are in the benchmarks.
 */
class DatabaseStateOutageTests {

    /**
     * One caller, an outage longer than the retry deadline (2 s here): once the outage has lasted the
     * deadline, every call fails at once with {@link DatabaseUnavailableException} and a retry-after,
     * instead of each waiting its whole deadline (the count-based breaker never opened for one caller).
     */
    @Test
    void aLongOutageFailsEvenASingleCallerFast() throws Exception {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            RetryTestApplication.on(server, "state-single-caller-it")
                .withPropertyValues("resilient.db.pool.connection-timeout=300ms", "resilient.db.pool.validation-timeout=250ms",
                        "resilient.db.retry.deadline=2s")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    assertThat(selectOne(template, jdbc)).isEqualTo(1);
                    Instant stopping = Instant.now();
                    server.stop();
                    Instant stopped = Instant.now();
                    long stoppedAt = System.nanoTime();
                    List<String> late = new ArrayList<>();
                    int lateFast = 0;
                    while (System.nanoTime() - stoppedAt < Duration.ofSeconds(8).toNanos()) {
                        long start = System.nanoTime();
                        Throwable failure = null;
                        try {
                            template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                        }
                        catch (RuntimeException ex) {
                            failure = ex;
                        }
                        long took = System.nanoTime() - start;
                        // Calls that start a second after the outage has lasted the deadline.
                        if (start - stoppedAt >= Duration.ofSeconds(3).toNanos()) {
                            late.add(((failure != null) ? failure.getClass().getSimpleName() : "success") + " in "
                                    + TimeUnit.NANOSECONDS.toMillis(took) + "ms");
                            if (failure instanceof DatabaseUnavailableException unavailable
                                    && unavailable.getRetryAfter().compareTo(Duration.ZERO) > 0
                                    && took < Duration.ofSeconds(1).toNanos()) {
                                lateFast++;
                            }
                        }
                        Thread.sleep(100);
                    }
                    assertThat(late).as("calls that started after fail-fast engaged").hasSizeGreaterThanOrEqualTo(3);
                    assertThat(lateFast).as("of them, refused at once with a retry-after: %s", late).isEqualTo(late.size());
                    DatabaseState.Snapshot state = context.getBean(RetryEngine.class)
                        .databaseState(context.getBean(DataSource.class)).current();
                    assertThat(state.availability()).isEqualTo(DatabaseAvailability.UNREACHABLE);
                    assertThat(state.failingFast()).isTrue();
                    // The first evidence: the first call's failure after the server stopped.
                    assertThat(state.since()).as("since, server stopped between %s and %s", stopping, stopped)
                        .isAfter(stopping).isBefore(stopped.plusSeconds(2));
                    server.start();
                    // Calls fail fast until the probe (every 50 ms) or the pool sees the server answer.
                    Integer one = null;
                    long giveUpAt = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                    while (one == null && System.nanoTime() < giveUpAt) {
                        try {
                            one = selectOne(template, jdbc);
                        }
                        catch (DatabaseUnavailableException ex) {
                            Thread.sleep(20);
                        }
                    }
                    assertThat(one).as("a call succeeds once the server is back").isEqualTo(1);
                    assertThat(context.getBean(RetryEngine.class).databaseState(context.getBean(DataSource.class))
                        .current().availability()).isEqualTo(DatabaseAvailability.UP);
                });
        }
    }

    /**
     * Four callers retrying through an outage with a 30 s deadline: when fail-fast engages (after 2 s
     * of outage here), each is released with {@link DatabaseUnavailableException}, none holds its
     * thread until its own deadline.
     */
    @Test
    void callersAlreadyRetryingAreReleasedWhenFailFastEngages() throws Exception {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            RetryTestApplication.on(server, "state-release-it")
                .withPropertyValues("resilient.db.pool.connection-timeout=300ms", "resilient.db.pool.validation-timeout=250ms",
                        "resilient.db.retry.deadline=30s", "resilient.db.retry.max-attempts=1000",
                        "resilient.db.retry.budget.enabled=false", "resilient.db.circuit-breaker.open-after=2s")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    assertThat(selectOne(template, jdbc)).isEqualTo(1);
                    server.stop();
                    long stoppedAt = System.nanoTime();
                    ExecutorService callers = Executors.newFixedThreadPool(4);
                    try {
                        List<Future<String>> calls = new ArrayList<>();
                        for (int i = 0; i < 4; i++) {
                            calls.add(callers.submit(() -> {
                                try {
                                    template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                                    return "success";
                                }
                                catch (RuntimeException ex) {
                                    return ex.getClass().getSimpleName();
                                }
                            }));
                        }
                        List<String> outcomes = new ArrayList<>();
                        for (Future<String> call : calls) {
                            outcomes.add(call.get(60, TimeUnit.SECONDS));
                        }
                        long released = System.nanoTime() - stoppedAt;
                        assertThat(outcomes).containsOnly("DatabaseUnavailableException");
                        assertThat(Duration.ofNanos(released)).as("every caller released, well before its 30 s deadline")
                            .isLessThan(Duration.ofSeconds(10));
                    }
                    finally {
                        callers.shutdownNow();
                    }
                });
        }
    }

    /**
     * One caller retrying through a 4 s outage with long back-offs (up to 5 s): it does not sleep out
     * its back-off once the database is back, but runs its next attempt when the probe finds it
     * answering, so it succeeds soon after the server's own "ready" line.
     */
    @Test
    void theCallerRetryingThroughAnOutageSucceedsSoonAfterTheDatabaseIsBack() throws Exception {
        try (PostgresServer server = PostgresServers.startDedicated()) {
            RetryTestApplication.on(server, "state-back-it")
                .withPropertyValues("resilient.db.pool.connection-timeout=300ms", "resilient.db.pool.validation-timeout=250ms",
                        "resilient.db.retry.deadline=30s", "resilient.db.retry.max-attempts=1000",
                        "resilient.db.retry.initial-interval=500ms", "resilient.db.retry.max-interval=5s",
                        "resilient.db.retry.jitter=0.1", "resilient.db.retry.budget.enabled=false")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    assertThat(selectOne(template, jdbc)).isEqualTo(1);
                    server.stop();
                    ExecutorService caller = Executors.newSingleThreadExecutor();
                    try {
                        Future<Long> succeededAt = caller.submit(() -> {
                            template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                            return System.nanoTime();
                        });
                        Thread.sleep(4000);
                        server.start();
                        long back = server.acceptingConnectionsSince();
                        long firstSuccess = succeededAt.get(60, TimeUnit.SECONDS);
                        assertThat(Duration.ofNanos(firstSuccess - back)).as("database back -> first success")
                            .isLessThan(Duration.ofSeconds(1));
                    }
                    finally {
                        caller.shutdownNow();
                    }
                });
        }
    }

    private static Integer selectOne(RetryingTransactionTemplate template, JdbcTemplate jdbc) {
        return template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
    }

}
