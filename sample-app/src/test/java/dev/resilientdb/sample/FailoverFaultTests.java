package dev.resilientdb.sample;

import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.StreamingReplica;
import dev.resilientdb.test.StreamingReplica.Replication;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.annotation.DirtiesContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failovers under load: the sample app, unchanged but for its URL, on a multi-host JDBC URL
 * ({@code targetServerType=primary}, {@code hostRecheckSeconds=1}) over a real primary and streaming
 * standby with synchronous replication ({@link StreamingReplica}), while clients send jobs with unique
 * {@code Idempotency-Key}s. For each failover: every 201 is stored exactly once on the new primary (no
 * acknowledged write lost, none applied twice), usage counters equal the 201s, no 5xx, and writes resume
 * on the new primary without restarting the application. The time from the new primary accepting writes
 * (its own log line) to the first 201 goes to {@link ReliabilityReport}.
 * <p>
 * The scenarios run in order on one pair, each leaving it as the next needs it: a switchover, a primary
 * demoted under the application's open connections, then a primary killed for good.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Import(RetriedSqlStates.Recording.class)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class FailoverFaultTests {

    private static final int CLIENTS = 20;

    private static final Duration LOAD_BEFORE_FAULT = Duration.ofSeconds(3);

    private static final Duration LOAD_AFTER_FAULT = Duration.ofSeconds(6);

    /** How long the demoted primary answers writes with 25006 before it is stopped and the standby promoted. */
    private static final Duration FENCED = Duration.ofSeconds(2);

    private static StreamingReplica pair;

    @LocalServerPort
    int port;

    @Autowired
    RetriedSqlStates retried;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        pair = StreamingReplica.start(Replication.SYNCHRONOUS);
        pair.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void closePair() {
        pair.close();
    }

    @Test
    @Order(1)
    void switchover() {
        PostgresServer oldPrimary = pair.primary();
        long[] faultAt = new long[1];
        FaultRun run = underLoad(() -> {
            faultAt[0] = System.nanoTime();
            oldPrimary.stop();
            long promoted = pair.promoteStandby();
            pair.rejoinAsStandby(oldPrimary);
            return promoted;
        });
        assertFailedOverWithoutErrors("F1. switchover: primary stopped cleanly, standby promoted, old primary back as its "
                + "synchronous standby", run, faultAt[0]);
    }

    @Test
    @Order(2)
    void primaryDemotedUnderOpenConnections() {
        PostgresServer oldPrimary = pair.primary();
        long[] faultAt = new long[1];
        FaultRun run = underLoad(() -> {
            faultAt[0] = System.nanoTime();
            pair.fencePrimary();
            sleep(FENCED);
            oldPrimary.stop();
            long promoted = pair.promoteStandby();
            pair.rejoinAsStandby(oldPrimary);
            return promoted;
        });
        long readOnlyRefusals = this.retried.count("25006");
        assertFailedOverWithoutErrors("F2. primary demoted under open connections: read-only (25006) for "
                + FENCED.toSeconds() + " s, then stopped, standby promoted, old primary back as its standby", run,
                faultAt[0]);
        assertThat(readOnlyRefusals).as("writes refused with 25006 and retried").isPositive();
    }

    @Test
    @Order(3)
    void primaryKilledAndStandbyPromoted() {
        PostgresServer oldPrimary = pair.primary();
        long[] faultAt = new long[1];
        FaultRun run = underLoad(() -> {
            faultAt[0] = System.nanoTime();
            oldPrimary.kill();
            long promoted = pair.promoteStandby();
            // Back while the load runs, refusing writes; read-only rather than a standby, because a primary killed
            // hard may have WAL the new primary never got, and then cannot follow it (StreamingReplica#startReadOnly).
            pair.startReadOnly(oldPrimary);
            return promoted;
        });
        assertFailedOverWithoutErrors("F3. primary killed (SIGKILL), standby promoted, old primary back read-only "
                + "(25006 to writes)", run, faultAt[0]);
        assertThat(oldPrimary.queryColumn("SELECT current_setting('default_transaction_read_only')")).containsExactly("on");
    }

    private void assertFailedOverWithoutErrors(String fault, FaultRun run, long faultAt) {
        LoadDriver.Result result = run.result();
        PostgresServer newPrimary = pair.primary();
        ExactlyOnce.assertEveryCreatedJobStoredExactlyOnce(result, newPrimary);
        ExactlyOnce.assertUsageEqualsStoredJobs(result, newPrimary);
        long firstWrite = firstSuccessAfter(result, run.backNanos());
        long sinceFault = firstSuccessAfter(result, faultAt);
        String checks = String.format(Locale.ROOT, "%s; lost writes: 0 (every 201 on the new primary); exactly once: yes; "
                + "usage = 201s: %s; fault → first 201 on the new primary: %d ms; no restart of the application",
                this.retried.summary() + this.retried.commitOutcomes(), result.usageMatches() ? "yes" : "NO",
                Duration.ofNanos(run.backNanos() - faultAt).toMillis() + firstWrite);
        ReliabilityReport.add(fault, result, firstWrite + " ms", checks);
        assertThat(sinceFault).as("a 201 after the fault").isGreaterThanOrEqualTo(0);
        assertThat(firstWrite).as("writes resume on the new primary").isGreaterThanOrEqualTo(0);
        assertThat(result.usageMatches()).isTrue();
        assertThat(result.serverErrors()).as("5xx during " + fault).isZero();
        assertThat(result.connectionErrors()).isZero();
        assertThat(this.retried.summary()).as("the failover reached the application").isNotEqualTo("no retries");
    }

    /**
     * Runs load, injects the fault once the sample has served it a few seconds, and stops the load a few
     * seconds after the fault. The fault returns the {@link System#nanoTime()} instant the new primary
     * accepted writes.
     */
    private FaultRun underLoad(LongSupplier fault) {
        RunningLoad load = RunningLoad.start(LoadDriver.Options.of("http://localhost:" + this.port, CLIENTS, Long.MAX_VALUE),
                pair.primary());
        try {
            load.awaitServing(Duration.ofMinutes(1));
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        sleep(LOAD_BEFORE_FAULT);
        this.retried.reset();
        long back = fault.getAsLong();
        sleep(LOAD_AFTER_FAULT);
        return new FaultRun(load.stop(), back);
    }

    /** Milliseconds from the instant to the first 201 answered after it, or -1 when none was. */
    private static long firstSuccessAfter(LoadDriver.Result result, long nanos) {
        return result.outcomes().stream()
            .filter(outcome -> outcome.created() && outcome.endNanos() >= nanos)
            .mapToLong(outcome -> Duration.ofNanos(outcome.endNanos() - nanos).toMillis())
            .min()
            .orElse(-1);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(Math.max(0, duration.toMillis()));
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A failover's load and when the new primary accepted writes.
     *
     * @param result every request's outcome
     * @param backNanos {@link System#nanoTime()} when the new primary accepted writes
     */
    record FaultRun(LoadDriver.Result result, long backNanos) {
    }

}
