package dev.resilientdb.sample;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.resilientdb.sample.load.LoadDriver;
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
 * Fault 6 of the suite: a storm of serialization failures (40001) and deadlocks (40P01) on one hot
 * account. The app runs its transactions SERIALIZABLE (HikariCP's default isolation, set the way
 * an application would) and every request goes to one account, while another client keeps locking
 * that account's usage row and then the jobs table, in the opposite order to the app. Clients must
 * see no 5xx other than a 503 for each retry the retry budget refused (none unless the machine is so
 * busy that every transaction runs slow), and every job must be counted exactly once.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "spring.datasource.hikari.transaction-isolation=TRANSACTION_SERIALIZABLE")
@Import(RetriedSqlStates.Recording.class)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class ContentionFaultTests {

    private static PostgresServer database;

    @LocalServerPort
    int port;

    @Autowired
    RetriedSqlStates retried;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        database = PostgresServers.startDedicated();
        database.execute("ALTER SYSTEM SET deadlock_timeout = '100ms'");
        database.execute("SELECT pg_reload_conf()");
        database.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void closeDatabase() {
        database.close();
    }

    @Test
    void stormOfSerializationFailuresAndDeadlocksOnOneHotAccount() throws Exception {
        // 8 clients, 1 account; it runs until stopped, 2 s after the storm.
        LoadDriver.Options options = new LoadDriver.Options("http://localhost:" + this.port, 8, Long.MAX_VALUE, null, 1,
                0, 0, Duration.ofSeconds(60), true);
        AtomicBoolean interfering = new AtomicBoolean(true);
        AtomicLong interferences = new AtomicLong();
        RunningLoad load = RunningLoad.start(options, database).awaitServing(Duration.ofMinutes(1));
        Thread.sleep(2_000);
        CompletableFuture<Void> interferer = CompletableFuture.runAsync(() -> {
            while (interfering.get()) {
                long round = System.nanoTime();
                lockInTheOppositeOrder();
                interferences.incrementAndGet();
                // The same storm on any machine: the pause grows with the round (at least the 150 ms it always was), so
                // the share of time the locker holds its locks does not grow when a busy machine makes rounds slower
                // (about 200 ms each at load average 13 on 2 cores, which had it holding them most of the time).
                sleep(Duration.ofNanos(Math.max(Duration.ofMillis(150).toNanos(), (System.nanoTime() - round) * 5 / 2)));
            }
        });
        Thread.sleep(8_000);
        interfering.set(false);
        interferer.get(30, TimeUnit.SECONDS);
        Thread.sleep(2_000);
        LoadDriver.Result result = load.stop();

        ExactlyOnce.assertEveryCreatedJobStoredExactlyOnce(result, database);
        ExactlyOnce.assertUsageEqualsStoredJobs(result, database);
        long serialization = this.retried.count("40001");
        long deadlocks = this.retried.count("40P01");
        long refused = this.retried.refused();
        ReliabilityReport.add("6. storm on one hot account: SERIALIZABLE load + opposite-order locker", result, "n/a",
                "retried " + serialization + "× 40001 and " + deadlocks + "× 40P01; " + refused
                        + " retries refused by the retry budget (503); exactly once: yes; usage = 201s: "
                        + (result.usageMatches() ? "yes" : "NO"));
        assertThat(result.usageMatches()).isTrue();
        // The only 5xx allowed: a 503 for each retry the retry budget refused. How many retries a request needs
        // grows when every transaction runs slower (0.56 per request at load average 11 on 2 cores, 0.88 at 20
        // with a second build running), while the budget allows 0.5 per request plus 10 a second: on a busy
        // machine it sheds some, as it is there to. When it refuses none, this is "no 5xx".
        assertThat(result.statusCounts().keySet()).allMatch(status -> status < 500 || status == 503);
        assertThat(result.serverErrors()).as("5xx other than retries the budget refused").isEqualTo(refused);
        assertThat(result.connectionErrors()).isZero();
        assertThat(serialization).as("serialization failures retried").isPositive();
        assertThat(deadlocks).as("deadlocks retried").isPositive();
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** Locks the hot account's usage row, then the jobs table: the opposite of the app's order. */
    private static void lockInTheOppositeOrder() {
        try (Connection connection = database.superuserConnection(); Statement statement = connection.createStatement()) {
            connection.setAutoCommit(false);
            statement.execute("UPDATE account_usage SET jobs = jobs WHERE account LIKE 'load-%'");
            statement.execute("SELECT pg_sleep(0.05)");
            statement.execute("LOCK TABLE jobs IN SHARE MODE");
            connection.commit();
        }
        catch (SQLException ex) {
            // The locker is sometimes the deadlock's victim; it simply tries again.
        }
    }

}
