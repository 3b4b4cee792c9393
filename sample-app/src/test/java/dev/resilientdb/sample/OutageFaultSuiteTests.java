package dev.resilientdb.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.sample.load.LoadDriver.Outcome;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.annotation.DirtiesContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault suite: the sample app under load (unique {@code Idempotency-Key} per request) while
 * real faults hit its PostgreSQL. For every fault: no acknowledged write lost or applied twice, and
 * usage counters equal the 201s; for outages shorter than the retry deadline, no 5xx at all; for a
 * longer one, fast 503s once fail-fast engages, probes that keep answering, and throughput back
 * within 2 s of the database. The log an operator reads stays quiet for every fault the sample rides
 * out: no ERROR line, no stack trace, one summary line of the episode; in the longer outage, one
 * line per failure a caller got. Each fault's numbers go to {@link ReliabilityReport}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(OutputCaptureExtension.class)
@Import(RetriedSqlStates.Recording.class)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class OutageFaultSuiteTests {

    private static final int CLIENTS = 20;

    private static final Duration LOAD_BEFORE_FAULT = Duration.ofSeconds(3);

    /**
     * Longest a 503 may take to count as failed fast: half the sample's 2 s connection timeout, the
     * least that a 503 which waited for the database takes. On a busy 2-core machine a tenth of the
     * fail-fast 503s took over 100 ms, however fast the application was.
     */
    private static final Duration FAIL_FAST = Duration.ofSeconds(1);

    /** Longest wait for the summary of a fault episode after the load stopped. */
    private static final Duration SUMMARY_WAIT = Duration.ofSeconds(20);

    /** Outage of fault 1b: most of the sample's 10 s retry deadline. */
    private static final Duration OUTAGE = Duration.ofSeconds(8);

    private static PostgresServer database;

    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    RetriedSqlStates retried;

    private CapturedOutput output;

    @BeforeEach
    void captureLog(CapturedOutput output) {
        this.output = output;
    }

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        database = PostgresServers.startDedicated();
        database.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void closeDatabase() {
        database.close();
    }

    @Test
    @Order(1)
    void fastRestart() {
        FaultRun run = underLoad(Duration.ofSeconds(8), () -> {
            database.restart();
            return database.acceptingConnectionsSince();
        });
        assertSurvivedWithoutErrors("1. fast restart", run);
        assertReachedTheApplication();
    }

    /**
     * A restart as production has it: the server is down for 8 s, most of the 10 s retry deadline, so
     * requests that began as it went down only succeed if the pool refills as soon as it is back.
     * <p>
     * The 8 s are the server's own: from the stop to the moment it accepts connections again. Starting
     * takes a while, seconds on a busy machine, and varies from one start to the next, so it is started
     * one and a half times as long as its last start took before the 8 s are up: on a slow machine the
     * outage would otherwise grow past the deadline (8.8 s in one run), and the 503s would be right.
     * The report row gives the outage the server really had.
     */
    @Test
    @Order(6)
    void serverDownForMostOfTheRetryDeadline() {
        long[] down = new long[1];
        FaultRun run = underLoad(Duration.ofSeconds(11), () -> {
            Duration startUp = database.lastStartUp();
            down[0] = System.nanoTime();
            database.stop();
            sleep(Duration.ofNanos(down[0] + OUTAGE.toNanos() - startUp.toNanos() * 3 / 2 - System.nanoTime()));
            database.start();
            return database.acceptingConnectionsSince();
        });
        String outage = String.format(java.util.Locale.ROOT, "%.1f", (run.backNanos() - down[0]) / 1e9);
        assertSurvivedWithoutErrors("1b. server stopped, back " + outage + " s later by its own log (aim: 8 s at most)", run);
        assertReachedTheApplication();
    }

    @Test
    @Order(2)
    void crashAndStartAgain() {
        FaultRun run = underLoad(Duration.ofSeconds(8), () -> {
            database.kill();
            sleep(Duration.ofSeconds(1));
            database.start();
            return database.acceptingConnectionsSince();
        });
        assertSurvivedWithoutErrors("2. crash (SIGKILL), start after 1 s", run);
        assertReachedTheApplication();
    }

    @Test
    @Order(3)
    void everyBackendTerminatedRepeatedly() {
        FaultRun run = underLoad(Duration.ofSeconds(4), () -> {
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (System.nanoTime() < end) {
                database.terminateBackends("sample-app");
                sleep(Duration.ofMillis(250));
            }
            return -1;
        });
        assertSurvivedWithoutErrors("3. every app backend terminated, every 250 ms for 5 s", run);
        assertReachedTheApplication();
    }

    @Test
    @Order(4)
    void maxConnectionsExhaustedByAnotherClient() {
        FaultRun run = underLoad(Duration.ofSeconds(15), () -> {
            AtomicBoolean hogging = new AtomicBoolean(true);
            CountDownLatch full = new CountDownLatch(1);
            List<Connection> hogs = java.util.Collections.synchronizedList(new ArrayList<>());
            // Several threads, so that the other client wins the slots the app's sessions free, as a busy one would.
            List<Thread> hogThreads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Thread hog = new Thread(() -> {
                    while (hogging.get()) {
                        try {
                            hogs.add(DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password()));
                        }
                        catch (SQLException ex) {
                            if ("53300".equals(ex.getSQLState())) {
                                full.countDown();
                            }
                            sleep(Duration.ofMillis(1));
                        }
                    }
                });
                hog.start();
                hogThreads.add(hog);
            }
            await(full);
            long end = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            while (System.nanoTime() < end) {
                // Sessions the app opens again are killed, so it keeps asking for slots the other client holds.
                try {
                    database.terminateBackends("sample-app");
                }
                catch (IllegalStateException ex) {
                    // Even the superuser's reserved slots can be busy for a moment; the next round kills them.
                }
                sleep(Duration.ofMillis(100));
            }
            hogging.set(false);
            hogThreads.forEach(OutageFaultSuiteTests::join);
            // The slots free as the other client closes its connections: from the first one on.
            long freeing = System.nanoTime();
            hogs.forEach(OutageFaultSuiteTests::close);
            return freeing;
        });
        long refused = this.retried.count("53300");
        assertSurvivedWithoutErrors("4. another client takes every free connection slot for 4 s (53300) while app sessions are killed every 100 ms", run);
        assertThat(refused).as("retries after 53300").isPositive();
    }

    @Test
    @Order(5)
    void serverHung() {
        FaultRun run = underLoad(Duration.ofSeconds(7), () -> {
            database.pause();
            sleep(Duration.ofSeconds(4));
            // The server runs again as the signal arrives, before resume() returns.
            long resuming = System.nanoTime();
            database.resume();
            return resuming;
        });
        assertSurvivedWithoutErrors("5. server hung (SIGSTOP) for 4 s", run);
        assertThat(run.result().latencyMillis(100)).as("slowest request waited out the hang").isGreaterThan(3_000);
    }

    @Test
    @Order(7)
    void outageLongerThanTheRetryDeadline() throws Exception {
        List<Long> probeMillis = new ArrayList<>();
        List<Integer> livenessStatuses = new ArrayList<>();
        long[] stoppedAt = new long[1];
        FaultRun run = underLoad(Duration.ofSeconds(12), () -> {
            database.stop();
            stoppedAt[0] = System.nanoTime();
            long end = stoppedAt[0] + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < end) {
                long start = System.nanoTime();
                livenessStatuses.add(managementGet("/actuator/health/liveness"));
                managementGet("/actuator/health/readiness");
                managementGet("/actuator/prometheus");
                probeMillis.add(Duration.ofNanos(System.nanoTime() - start).toMillis());
                sleep(Duration.ofMillis(500));
            }
            database.start();
            return database.acceptingConnectionsSince();
        });
        LoadDriver.Result result = run.result();
        // A commit can reach the server just as it goes down, with the answer lost: the application cannot
        // learn the outcome before its retry deadline and answers 503. The key makes re-sending safe.
        List<Outcome> unknownToClient = ExactlyOnce.storedWithout201(result, database);
        assertThat(unknownToClient).allMatch(outcome -> outcome.connectionError() || outcome.status() == 503);
        unknownToClient.forEach(this::assertResendingReturnsTheStoredJob);
        ExactlyOnce.assertUsageEqualsStoredJobs(result, database);
        assertThat(result.usageTotal()).as("usage counters = 201s, counting those the re-sent requests got")
            .isEqualTo(result.created() + unknownToClient.size());
        Outcome engaged = result.outcomes().stream()
            .filter(outcome -> outcome.startNanos() > stoppedAt[0] && outcome.status() == 503
                    && outcome.latencyNanos() < FAIL_FAST.toNanos())
            .min(java.util.Comparator.comparingLong(Outcome::startNanos))
            .orElseThrow(() -> new AssertionError("fail-fast never engaged during the outage"));
        // Answered before the server itself said it accepted connections again (both on the nanoTime clock):
        // no such request can have been served by the database.
        List<Outcome> afterEngaged = result.outcomes().stream()
            .filter(outcome -> outcome.startNanos() >= engaged.startNanos() && outcome.endNanos() < run.backNanos())
            .toList();
        List<Outcome> fast503 = afterEngaged.stream()
            .filter(outcome -> outcome.status() == 503 && outcome.latencyNanos() < FAIL_FAST.toNanos())
            .toList();
        double fastShare = (double) fast503.size() / afterEngaged.size();
        long[] fastMillis = fast503.stream().mapToLong(outcome -> Duration.ofNanos(outcome.latencyNanos()).toMillis())
            .sorted().toArray();
        long recoveryMillis = firstSuccessAfter(result, run.backNanos());
        String checks = String.format(java.util.Locale.ROOT,
                "fail-fast engaged %d s into the outage; %.1f%% of %d requests after it answered 503 without waiting "
                        + "for the database (under 1 s; p50 %d ms, p99 %d ms) "
                        + "(any others were already under way when it engaged); liveness 200 and probes answered within %d ms throughout; "
                        + "%d request(s) answered 503 or not at all although their commit had reached the server, "
                        + "and re-sent with the same key each got the stored job back, counted once",
                Duration.ofNanos(engaged.startNanos() - stoppedAt[0]).toSeconds(), fastShare * 100, afterEngaged.size(),
                percentile(fastMillis, 50), percentile(fastMillis, 99),
                probeMillis.stream().mapToLong(Long::longValue).max().orElse(-1), unknownToClient.size());
        LogLines log = run.log();
        ReliabilityReport.add("7. outage of 30 s (longer than the 10 s retry deadline)", result, recoveryMillis + " ms",
                checks + "; log: " + log.counts());
        // Callers got failures: each is said once, by the starter, in one line without a stack trace.
        assertThat(log.stackTraceLines()).as("stack-trace lines logged during the outage").isZero();
        assertThat(log.errors()).as("ERROR lines: the starter's, one per failed unit of work and one as fail-fast engages")
            .allMatch(line -> line.contains("resilient-db: "))
            .hasSizeLessThanOrEqualTo((int) result.serverErrors() + 1);
        assertThat(afterEngaged.stream().filter(outcome -> outcome.status() >= 200 && outcome.status() < 300)).isEmpty();
        assertThat(fastShare).isGreaterThan(0.9);
        assertThat(livenessStatuses).isNotEmpty().containsOnly(200);
        assertThat(probeMillis).allSatisfy(millis -> assertThat(millis).isLessThan(3_000));
        assertThat(recoveryMillis).isBetween(0L, 2_000L);
    }

    private void assertSurvivedWithoutErrors(String fault, FaultRun run) {
        LoadDriver.Result result = run.result();
        ExactlyOnce.assertEveryCreatedJobStoredExactlyOnce(result, database);
        ExactlyOnce.assertUsageEqualsStoredJobs(result, database);
        String recovery = (run.backNanos() > 0) ? firstSuccessAfter(result, run.backNanos()) + " ms" : "n/a";
        LogLines log = run.log();
        boolean retriedAny = !this.retried.summary().equals("no retries");
        List<String> summaries = retriedAny ? log.awaitSummaries(SUMMARY_WAIT) : log.summaries();
        ReliabilityReport.add(fault, result, recovery, this.retried.summary() + this.retried.commitOutcomes()
                + "; exactly once: yes; usage = 201s: "
                + (result.usageMatches() ? "yes" : "NO") + "; log: " + log.counts());
        assertThat(result.usageMatches()).isTrue();
        assertThat(result.serverErrors()).as("5xx during " + fault).isZero();
        assertThat(result.connectionErrors()).isZero();
        assertThat(log.errors()).as("ERROR lines logged during " + fault + " that every caller rode out").isEmpty();
        assertThat(log.stackTraceLines()).as("stack-trace lines logged during " + fault).isZero();
        assertThat(summaries).as("summary lines of the episode (none without retries)").hasSize(retriedAny ? 1 : 0);
    }

    private void assertReachedTheApplication() {
        assertThat(this.retried.summary()).as("the fault made the retry engine work").isNotEqualTo("no retries");
    }

    /**
     * Runs load, injects the fault once the sample has served the load for a few seconds, and stops the
     * load {@code after} the fault. The fault returns the {@link System#nanoTime()} instant the database
     * was back (for a stopped or killed server, the instant the server says it accepted connections
     * again), or -1.
     */
    private FaultRun underLoad(Duration after, LongSupplier fault) {
        RunningLoad load = RunningLoad.start(LoadDriver.Options.of("http://localhost:" + this.port, CLIENTS, Long.MAX_VALUE),
                database);
        try {
            load.awaitServing(Duration.ofMinutes(1));
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        sleep(LOAD_BEFORE_FAULT);
        this.retried.reset();
        LogLines log = LogLines.from(this.output);
        long back = fault.getAsLong();
        sleep(after);
        return new FaultRun(load.stop(), back, log);
    }

    private static long percentile(long[] sorted, int percentile) {
        return (sorted.length == 0) ? -1 : sorted[Math.max(0, (int) Math.ceil(percentile / 100.0 * sorted.length) - 1)];
    }

    /** Milliseconds from the database's return to the first 201 answered after it. */
    private static long firstSuccessAfter(LoadDriver.Result result, long backNanos) {
        return result.outcomes().stream()
            .filter(outcome -> outcome.created() && outcome.endNanos() >= backNanos)
            .mapToLong(outcome -> Duration.ofNanos(outcome.endNanos() - backNanos).toMillis())
            .min()
            .orElse(-1);
    }

    /** What a client does with a 503 or no answer: sends the same request with the same key again. */
    private void assertResendingReturnsTheStoredJob(Outcome unknown) {
        String storedId = database
            .queryColumn("SELECT id FROM jobs WHERE idempotency_key = '" + unknown.idempotencyKey() + "'")
            .get(0);
        HttpRequest again = HttpRequest.newBuilder(URI.create("http://localhost:" + this.port + "/api/jobs"))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", unknown.idempotencyKey())
            .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + unknown.account() + "\",\"type\":\"load\"}"))
            .build();
        try {
            HttpResponse<String> response = http.send(again, HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(201);
            assertThat(response.headers().firstValue("Idempotent-Replayed")).hasValue("true");
            assertThat(response.body()).contains(storedId);
        }
        catch (Exception ex) {
            throw new AssertionError("re-sending " + unknown.idempotencyKey() + " failed", ex);
        }
    }

    private int managementGet(String path) {
        try {
            HttpResponse<Void> response = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + this.managementPort + path))
                .timeout(Duration.ofSeconds(3)).GET().build(), HttpResponse.BodyHandlers.discarding());
            return response.statusCode();
        }
        catch (Exception ex) {
            return -1;
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(Math.max(0, duration.toMillis()));
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(30, TimeUnit.SECONDS)).as("connection slots filled").isTrue();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void join(Thread thread) {
        try {
            thread.join(30_000);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void close(Connection connection) {
        try {
            connection.close();
        }
        catch (SQLException ex) {
            // Gone already.
        }
    }

    /**
     * A fault's load and when the database was back.
     *
     * @param result every request's outcome
     * @param backNanos {@link System#nanoTime()} when the database was back, or -1
     * @param log what was logged from the fault on
     */
    record FaultRun(LoadDriver.Result result, long backNanos, LogLines log) {
    }

}
