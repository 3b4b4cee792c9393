package dev.resilientdb.retry;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.resilientdb.retry.RetryTestApplication.RecordingListener;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.BadSqlGrammarException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The retrying template against real PostgreSQL, with real faults: what is retried, how often, and
 * that no unit of work is applied twice.
 */
class RetryIntegrationTests {

    private static final String APPLICATION_NAME = "retry-it";

    private final PostgresServer server = PostgresServers.shared();

    /**
     * Two threads for two transactions that must meet at a barrier: the common pool, which
     * {@code runAsync} would use, may run them one after the other (one worker on 2 cores).
     */
    private final ExecutorService twoThreads = Executors.newFixedThreadPool(2);

    @AfterEach
    void stopThreads() {
        this.twoThreads.shutdownNow();
    }

    @BeforeEach
    void createTables() {
        this.server.execute("DROP TABLE IF EXISTS retry_rows, on_call, balances");
        this.server.execute("CREATE TABLE retry_rows (id text PRIMARY KEY)");
        this.server.execute("CREATE TABLE on_call (doctor text PRIMARY KEY, on_call boolean NOT NULL)");
        this.server.execute("CREATE TABLE balances (account text PRIMARY KEY, amount int NOT NULL)");
        this.server.execute("GRANT ALL ON retry_rows, on_call, balances TO " + PostgresServer.APP_USER);
    }

    @Test
    void unitOfWorkWhoseBackendIsTerminatedIsRunAgainAndItsRowExistsOnce() {
        RetryTestApplication.on(this.server, APPLICATION_NAME).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger attempts = new AtomicInteger();
            template.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO retry_rows VALUES ('terminated')");
                if (attempts.incrementAndGet() == 1) {
                    terminate(jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class));
                }
                jdbc.update("INSERT INTO retry_rows VALUES ('terminated-2')");
            });
            assertThat(attempts).hasValue(2);
            assertThat(this.server.queryLong("SELECT count(*) FROM retry_rows WHERE id LIKE 'terminated%'")).isEqualTo(2);
            assertThat(context.getBean(RecordingListener.class).events).containsExactly("retry 1 57P01", "success after 2");
        });
    }

    @Test
    void conflictingSerializableTransactionsAllFinishAndKeepTheInvariant() {
        this.server.execute("INSERT INTO on_call VALUES ('alice', true), ('bob', true)");
        RetryTestApplication.on(this.server, APPLICATION_NAME).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class)
                .with(serializable(), context.getBean(RetryingTransactionTemplate.class).getRetrySettings(), false);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            CyclicBarrier bothRead = new CyclicBarrier(2);
            AtomicInteger attempts = new AtomicInteger();
            List<CompletableFuture<Void>> calls = new ArrayList<>();
            for (String doctor : List.of("alice", "bob")) {
                calls.add(CompletableFuture.runAsync(() -> template.executeWithoutResult(status -> {
                    boolean firstRound = attempts.incrementAndGet() <= 2;
                    long onCall = jdbc.queryForObject("SELECT count(*) FROM on_call WHERE on_call", Long.class);
                    if (firstRound) {
                        await(bothRead);
                    }
                    if (onCall >= 2) {
                        jdbc.update("UPDATE on_call SET on_call = false WHERE doctor = ?", doctor);
                    }
                }), this.twoThreads));
            }
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            assertThat(this.server.queryLong("SELECT count(*) FROM on_call WHERE on_call")).isEqualTo(1);
            assertThat(attempts.get()).isGreaterThan(2);
            assertThat(context.getBean(RecordingListener.class).events).anyMatch(event -> event.equals("retry 1 40001"));
        });
    }

    @Test
    void deadlockedTransactionsAllFinishAndEveryTransferIsAppliedOnce() {
        this.server.execute("INSERT INTO balances VALUES ('a', 100), ('b', 100)");
        RetryTestApplication.on(this.server, APPLICATION_NAME).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            CyclicBarrier bothLockedFirstRow = new CyclicBarrier(2);
            AtomicInteger attempts = new AtomicInteger();
            List<CompletableFuture<Void>> transfers = new ArrayList<>();
            for (String[] route : List.of(new String[] { "a", "b" }, new String[] { "b", "a" })) {
                transfers.add(CompletableFuture.runAsync(() -> template.executeWithoutResult(status -> {
                    boolean firstRound = attempts.incrementAndGet() <= 2;
                    jdbc.update("UPDATE balances SET amount = amount - 10 WHERE account = ?", route[0]);
                    if (firstRound) {
                        await(bothLockedFirstRow);
                    }
                    jdbc.update("UPDATE balances SET amount = amount + 10 WHERE account = ?", route[1]);
                }), this.twoThreads));
            }
            CompletableFuture.allOf(transfers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            assertThat(this.server.queryColumn("SELECT amount FROM balances ORDER BY account")).containsExactly("100", "100");
            assertThat(this.server.queryLong("SELECT sum(amount) FROM balances")).isEqualTo(200);
            assertThat(context.getBean(RecordingListener.class).events).anyMatch(event -> event.equals("retry 1 40P01"));
        });
    }

    @Test
    void duplicateKeySyntaxErrorAndWrongPasswordAreTriedExactlyOnce() {
        this.server.execute("INSERT INTO retry_rows VALUES ('taken')");
        RetryTestApplication.on(this.server, APPLICATION_NAME).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger attempts = new AtomicInteger();
            assertThatExceptionOfType(DuplicateKeyException.class).isThrownBy(() -> template.executeWithoutResult(status -> {
                attempts.incrementAndGet();
                jdbc.update("INSERT INTO retry_rows VALUES ('taken')");
            })).satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("23505"));
            assertThat(attempts).hasValue(1);
            assertThatExceptionOfType(BadSqlGrammarException.class).isThrownBy(() -> template.executeWithoutResult(status -> {
                attempts.incrementAndGet();
                jdbc.update("INSERT INTO retry_rows VALUE ('typo')");
            })).satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("42601"));
            assertThat(attempts).hasValue(2);
            assertThat(context.getBean(RecordingListener.class).events).isEmpty();
        });
        RetryTestApplication.on(this.server, APPLICATION_NAME)
            .withPropertyValues("spring.datasource.password=wrong-password")
            .run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                assertThatExceptionOfType(CannotCreateTransactionException.class)
                    .isThrownBy(() -> template.executeWithoutResult(status -> {
                    }))
                    .satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("28P01"));
                assertThat(context.getBean(RecordingListener.class).events).isEmpty();
            });
    }

    @Test
    void callSucceedsOnceAConnectionSlotFreesAndFailsWithTheOriginalErrorIfNoneDoes() throws Exception {
        try (PostgresServer full = PostgresServers.startDedicated()) {
            RetryTestApplication.on(full, APPLICATION_NAME)
                .withPropertyValues("resilient.db.pool.min-idle=0", "resilient.db.pool.max-size=2",
                        "resilient.db.pool.initialization-fail-timeout=-1ms", "resilient.db.pool.connection-timeout=500ms",
                        "resilient.db.pool.validation-timeout=250ms", "resilient.db.retry.deadline=6s",
                        // About the retry deadline: calls do not fail fast first (by default they would, as it ends).
                        "resilient.db.circuit-breaker.open-after=60s")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    List<Connection> hogs = occupyEveryConnectionSlot(full);
                    try {
                        CompletableFuture.runAsync(() -> {
                            sleep(Duration.ofSeconds(1));
                            close(hogs.remove(0));
                        });
                        Integer one = template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class));
                        assertThat(one).isEqualTo(1);
                        assertThat(context.getBean(RecordingListener.class).events).contains("retry 1 53300");

                        HikariPoolMXBean pool = jdbc.getDataSource().unwrap(HikariDataSource.class).getHikariPoolMXBean();
                        pool.softEvictConnections();
                        while (pool.getTotalConnections() > 0) {
                            sleep(Duration.ofMillis(20));
                        }
                        hogs.addAll(occupyEveryConnectionSlot(full));
                        context.getBean(RecordingListener.class).events.clear();
                        long start = System.nanoTime();
                        assertThatExceptionOfType(CannotCreateTransactionException.class)
                            .isThrownBy(() -> template.execute(status -> jdbc.queryForObject("SELECT 1", Integer.class)))
                            .satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("53300"));
                        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofSeconds(5));
                        assertThat(context.getBean(RecordingListener.class).retries()).isGreaterThan(1);
                        assertThat(context.getBean(RecordingListener.class).events).last().asString().startsWith("exhausted");
                    }
                    finally {
                        hogs.forEach(RetryIntegrationTests::close);
                    }
                });
        }
    }

    @Test
    void callSucceedsWhenTheServerIsRestartedDuringIt() throws Exception {
        try (PostgresServer restarting = PostgresServers.startDedicated()) {
            restarting.execute("CREATE TABLE restart_rows (id text PRIMARY KEY)");
            restarting.execute("GRANT ALL ON restart_rows TO " + PostgresServer.APP_USER);
            RetryTestApplication.on(restarting, APPLICATION_NAME).run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                CountDownLatch firstAttemptRunning = new CountDownLatch(1);
                AtomicInteger attempts = new AtomicInteger();
                CompletableFuture<Void> restart = CompletableFuture.runAsync(() -> {
                    awaitLatch(firstAttemptRunning);
                    restarting.restart();
                });
                template.executeWithoutResult(status -> {
                    jdbc.update("INSERT INTO restart_rows VALUES ('restart')");
                    if (attempts.incrementAndGet() == 1) {
                        firstAttemptRunning.countDown();
                        jdbc.queryForObject("SELECT pg_sleep(10)", Object.class);
                    }
                });
                restart.get(30, TimeUnit.SECONDS);
                assertThat(attempts.get()).isGreaterThanOrEqualTo(2);
                assertThat(restarting.queryLong("SELECT count(*) FROM restart_rows")).isEqualTo(1);
            });
        }
    }

    @Test
    void commitWithUnknownOutcomeIsNotRetriedUnlessIdempotent() {
        RetryTestApplication.on(this.server, APPLICATION_NAME).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger attempts = new AtomicInteger();
            assertThatExceptionOfType(CommitOutcomeUnknownException.class)
                .isThrownBy(() -> template.executeWithoutResult(status -> {
                    attempts.incrementAndGet();
                    jdbc.update("INSERT INTO retry_rows VALUES ('unknown')");
                    breakConnectionBeforeCommit(jdbc);
                }));
            assertThat(attempts).hasValue(1);
            assertThat(context.getBean(RecordingListener.class).events).containsExactly("commit unknown 1");

            attempts.set(0);
            template.idempotent().executeWithoutResult(status -> {
                jdbc.update("INSERT INTO retry_rows VALUES ('idempotent') ON CONFLICT DO NOTHING");
                if (attempts.incrementAndGet() == 1) {
                    breakConnectionBeforeCommit(jdbc);
                }
            });
            assertThat(attempts).hasValue(2);
            assertThat(this.server.queryLong("SELECT count(*) FROM retry_rows WHERE id = 'idempotent'")).isEqualTo(1);
        });
    }

    @Test
    void templateJoiningAnOuterTransactionDoesNotRetryOnItsOwn() {
        RetryTestApplication.on(this.server, APPLICATION_NAME).run(context -> {
            RetryingTransactionTemplate outer = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger outerAttempts = new AtomicInteger();
            AtomicInteger innerAttempts = new AtomicInteger();
            outer.executeWithoutResult(outerStatus -> {
                outerAttempts.incrementAndGet();
                outer.executeWithoutResult(innerStatus -> {
                    jdbc.update("INSERT INTO retry_rows VALUES ('nested')");
                    if (innerAttempts.incrementAndGet() == 1) {
                        terminate(jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class));
                        jdbc.queryForObject("SELECT 1", Integer.class);
                    }
                });
            });
            assertThat(outerAttempts).hasValue(2);
            assertThat(innerAttempts).hasValue(2);
            assertThat(this.server.queryLong("SELECT count(*) FROM retry_rows WHERE id = 'nested'")).isEqualTo(1);
        });
    }

    private void breakConnectionBeforeCommit(JdbcTemplate jdbc) {
        int pid = jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class);
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void beforeCommit(boolean readOnly) {
                terminate(pid);
            }
        });
    }

    /** Terminates a backend, as an administrator or a failover would, and waits until it is gone. */
    private void terminate(int pid) {
        this.server.execute("SELECT pg_terminate_backend(" + pid + ")");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!this.server.queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()
                && System.nanoTime() < deadline) {
            sleep(Duration.ofMillis(20));
        }
    }

    private static List<Connection> occupyEveryConnectionSlot(PostgresServer server) throws SQLException {
        List<Connection> connections = new ArrayList<>();
        while (true) {
            try {
                connections.add(DriverManager.getConnection(server.jdbcUrl(), server.username(), server.password()));
            }
            catch (SQLException ex) {
                if ("53300".equals(ex.getSQLState())) {
                    return connections;
                }
                connections.forEach(RetryIntegrationTests::close);
                throw ex;
            }
        }
    }

    private static TransactionDefinition serializable() {
        DefaultTransactionDefinition definition = new DefaultTransactionDefinition();
        definition.setIsolationLevel(TransactionDefinition.ISOLATION_SERIALIZABLE);
        return definition;
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await(10, TimeUnit.SECONDS);
        }
        catch (Exception ex) {
            throw new IllegalStateException("The other transaction did not reach the barrier", ex);
        }
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
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
            // Already closed by the server.
        }
    }

}
