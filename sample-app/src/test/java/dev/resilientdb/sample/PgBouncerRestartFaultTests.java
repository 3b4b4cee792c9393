package dev.resilientdb.sample;

import java.time.Duration;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.annotation.DirtiesContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault suite behind a pooler: the sample app connects through a real PgBouncer in transaction mode
 * ({@code resilient.db.driver.pooler=pgbouncer-transaction}), and PgBouncer is restarted under load
 * (stopped at once, every client connection closed, and started again on its port). Every 201 stored
 * exactly once, usage counters equal to the 201s, no 5xx. PgBouncer must be installed ({@code scripts/test}
 * installs it); without it the test fails, it never skips.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "resilient.db.driver.pooler=pgbouncer-transaction")
@Import(RetriedSqlStates.Recording.class)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class PgBouncerRestartFaultTests {

    private static final int CLIENTS = 20;

    private static PostgresServer database;

    private static PgBouncer pgBouncer;

    @LocalServerPort
    int port;

    @Autowired
    RetriedSqlStates retried;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        database = PostgresServers.startDedicated();
        pgBouncer = PgBouncer.start(database, PoolMode.TRANSACTION, 20);
        pgBouncer.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void close() {
        try {
            pgBouncer.close();
        }
        finally {
            database.close();
        }
    }

    @Test
    void pgBouncerRestartedUnderLoad() throws InterruptedException {
        RunningLoad load = RunningLoad.start(LoadDriver.Options.of("http://localhost:" + this.port, CLIENTS, Long.MAX_VALUE),
                database).awaitServing(Duration.ofMinutes(1));
        Thread.sleep(3_000);
        this.retried.reset();
        pgBouncer.restart();
        // Listening again: start() returns once PgBouncer accepts a connection on its port.
        long back = System.nanoTime();
        Thread.sleep(6_000);
        LoadDriver.Result result = load.stop();

        ExactlyOnce.assertEveryCreatedJobStoredExactlyOnce(result, database);
        ExactlyOnce.assertUsageEqualsStoredJobs(result, database);
        long recovery = result.outcomes().stream()
            .filter(outcome -> outcome.created() && outcome.endNanos() >= back)
            .mapToLong(outcome -> Duration.ofNanos(outcome.endNanos() - back).toMillis())
            .min()
            .orElse(-1);
        ReliabilityReport.add("P1. PgBouncer (transaction mode) restarted: every client connection closed, back on its port",
                result, recovery + " ms", this.retried.summary() + this.retried.commitOutcomes()
                        + "; exactly once: yes; usage = 201s: "
                        + (result.usageMatches() ? "yes" : "NO"));
        assertThat(result.usageMatches()).isTrue();
        assertThat(result.serverErrors()).as("5xx").isZero();
        assertThat(result.connectionErrors()).isZero();
        assertThat(recovery).as("a 201 after PgBouncer was back").isGreaterThanOrEqualTo(0);
        assertThat(this.retried.summary()).as("the restart reached the application").isNotEqualTo("no retries");
    }

}
