package dev.resilientdb.retry;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.retry.CommitOutcomeResolutionTests.Outcomes;
import dev.resilientdb.test.CommitHold;
import dev.resilientdb.test.LostCommitReply;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.TransactionSystemException;

import static dev.resilientdb.retry.CommitOutcomeResolutionTests.application;
import static dev.resilientdb.retry.CommitOutcomeResolutionTests.awaitRow;
import static dev.resilientdb.retry.CommitOutcomeResolutionTests.createTable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Commits whose reply is lost while the server restarts cleanly or crashes, resolved by asking the
 * server again once it is back: a clean restart keeps the proof, a crash keeps only the proof that
 * something was not stored. On a server of its own.
 */
class CommitOutcomeRestartTests {

    private static PostgresServer server;

    @BeforeAll
    static void startServer() {
        server = PostgresServers.startDedicated();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void createResolvedRows() {
        createTable(server);
    }

    @Test
    void fastRestartDuringTheCommitIsRetriedAndStoredOnce() {
        CommitHold hold = CommitHold.install(server, "resolved_rows");
        application(server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<Void> restarted = CompletableFuture.runAsync(() -> {
                hold.awaitHeldCommit();
                server.restart();
            });
            template.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO resolved_rows VALUES ('restarted')");
                if (attempts.incrementAndGet() == 1) {
                    hold.arm(dataSource);
                }
            });
            restarted.get(60, TimeUnit.SECONDS);
            assertThat(attempts).hasValue(2);
            assertThat(server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'restarted'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved aborted");
        });
    }

    /**
     * The server commits, the reply is lost, and the server restarts cleanly before the resolver asks
     * again (it asks every 8 s here): the same server, which kept every id it had handed out, says
     * "committed".
     */
    @Test
    void commitConfirmedAfterACleanRestartReturnsTheResult() {
        LostCommitReply lostReply = LostCommitReply.install(server, "resolved_rows");
        application(server, "resilient.db.circuit-breaker.probe-interval=8s", "resilient.db.retry.deadline=40s")
            .run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                DataSource dataSource = context.getBean(DataSource.class);
                CompletableFuture<Void> restarted = CompletableFuture.runAsync(() -> {
                    awaitRow(server, "clean-restart");
                    lostReply.awaitServerSideCommits();
                    server.restart();
                });
                lostReply.loseNextCommitReply();
                String result = template.execute(status -> {
                    jdbc.update("INSERT INTO resolved_rows VALUES ('clean-restart')");
                    lostReply.armIfDue(dataSource);
                    return "stored";
                });
                restarted.get(60, TimeUnit.SECONDS);
                assertThat(result).isEqualTo("stored");
                assertThat(server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'clean-restart'"))
                    .isEqualTo(1);
                assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved committed");
            });
    }

    /**
     * The server commits, the reply is lost, and the server crashes before the resolver asks again:
     * after crash recovery the id could belong to another transaction, so "committed" is not taken
     * as proof, and the caller is told the outcome is unknown (the row is there: never success
     * without it, never a second run).
     */
    @Test
    void commitReportedAfterACrashIsNotTakenAsProof() {
        LostCommitReply lostReply = LostCommitReply.install(server, "resolved_rows");
        application(server, "resilient.db.circuit-breaker.probe-interval=8s", "resilient.db.retry.deadline=40s")
            .run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                DataSource dataSource = context.getBean(DataSource.class);
                AtomicInteger attempts = new AtomicInteger();
                CompletableFuture<Void> crashed = CompletableFuture.runAsync(() -> {
                    awaitRow(server, "crash");
                    server.kill();
                    server.start();
                });
                lostReply.loseNextCommitReply();
                assertThatExceptionOfType(CommitOutcomeUnknownException.class)
                    .isThrownBy(() -> template.execute(status -> {
                        attempts.incrementAndGet();
                        jdbc.update("INSERT INTO resolved_rows VALUES ('crash')");
                        lostReply.armIfDue(dataSource);
                        return "stored";
                    }))
                    .withMessageContaining("crash");
                crashed.get(60, TimeUnit.SECONDS);
                assertThat(attempts).hasValue(1);
                assertThat(server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'crash'")).isEqualTo(1);
                assertThat(context.getBean(Outcomes.class).events).containsExactly("unresolved");
            });
    }

    /**
     * An idempotent unit of work runs again after a commit whose outcome is unknown (the server stopped
     * while it held the commit, and stays down); when its retries then run out on lost connections,
     * the caller is told the outcome is unknown, not just "connection failed", which a web client
     * would take as "nothing was stored, send it again".
     */
    @Test
    void idempotentUnitOfWorkThatRunsOutOfRetriesAfterAnUnknownCommitSaysTheOutcomeIsUnknown() {
        CommitHold hold = CommitHold.install(server, "resolved_rows");
        application(server, "resilient.db.retry.resolve-commit-outcome=false", "resilient.db.retry.deadline=3s",
                "resilient.db.circuit-breaker.open-after=30s").run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class).idempotent();
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
                hold.awaitHeldCommit();
                server.stop();
            });
            try {
                assertThatExceptionOfType(CommitOutcomeUnknownException.class)
                    .isThrownBy(() -> template.executeWithoutResult(status -> {
                        jdbc.update("INSERT INTO resolved_rows VALUES ('stopped')");
                        if (attempts.incrementAndGet() == 1) {
                            hold.arm(dataSource);
                        }
                    }))
                    .withMessageContaining("committing attempt 1")
                    .satisfies((ex) -> assertThat(SqlStateFailureClassifier.isCommitOutcomeUnknown(ex.getCause())).isFalse());
                stopped.get(60, TimeUnit.SECONDS);
            }
            finally {
                server.start();
            }
            // The fast shutdown aborted the held commit, and no later attempt reached the server.
            assertThat(server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'stopped'")).isZero();
        });
    }

    @Test
    void crashDuringTheCommitIsRetriedAndStoredOnce() {
        CommitHold hold = CommitHold.install(server, "resolved_rows");
        application(server, "resilient.db.retry.deadline=30s").run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<Void> crashed = CompletableFuture.runAsync(() -> {
                hold.awaitHeldCommit();
                server.kill();
                server.start();
            });
            template.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO resolved_rows VALUES ('crashed')");
                if (attempts.incrementAndGet() == 1) {
                    hold.arm(dataSource);
                }
            });
            crashed.get(60, TimeUnit.SECONDS);
            assertThat(attempts).hasValue(2);
            assertThat(server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'crashed'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved aborted");
        });
    }

    /**
     * A role that may not read what identifies the server: the question fails inside a savepoint, the
     * transaction commits as if nothing had been asked, and resolution is off for the pool (also when
     * the pool's first transaction wrote nothing and so asked only for the id).
     */
    @Test
    void refusedQuestionNeverFailsTheTransaction() {
        server.execute("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC");
        try {
            application(server).run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                Long before = template.execute(status -> jdbc.queryForObject("SELECT count(*) FROM resolved_rows",
                        Long.class));
                assertThat(before).isZero();
                template.executeWithoutResult(status -> jdbc.update("INSERT INTO resolved_rows VALUES ('refused')"));
                template.executeWithoutResult(status -> jdbc.update("INSERT INTO resolved_rows VALUES ('refused-2')"));
                assertThat(server.queryColumn("SELECT id FROM resolved_rows ORDER BY id")).containsExactly("refused",
                        "refused-2");
            });
        }
        finally {
            server.execute("GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC");
        }
    }

    /**
     * The question fails after the pool had it answered before (here: the right to read the identity
     * revoked, on a new connection): there is no savepoint to go back to, the server has aborted the
     * transaction, and pgjdbc would report its COMMIT, answered ROLLBACK, as a success. The caller gets
     * the failure instead, and nothing is stored.
     */
    @Test
    void questionThatFailsAfterItWasAnsweredFailsTheCommitInsteadOfLosingItSilently() {
        application(server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            template.executeWithoutResult(status -> jdbc.update("INSERT INTO resolved_rows VALUES ('answered')"));
            server.execute("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC");
            try {
                context.getBean(HikariDataSource.class).getHikariPoolMXBean().softEvictConnections();
                assertThatExceptionOfType(TransactionSystemException.class)
                    .isThrownBy(() -> template
                        .executeWithoutResult(status -> jdbc.update("INSERT INTO resolved_rows VALUES ('failed')")))
                    .withMessageContaining("rolled back");
                assertThat(server.queryColumn("SELECT id FROM resolved_rows ORDER BY id")).containsExactly("answered");
            }
            finally {
                server.execute("GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC");
            }
        });
    }

}
