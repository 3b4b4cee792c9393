package dev.resilientdb.retry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import dev.resilientdb.test.CommitHold;
import dev.resilientdb.test.LostCommitReply;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Commits whose reply is lost, resolved by asking the server ({@code resilient.db.retry.resolve-commit-outcome}),
 * on a real PostgreSQL with real faults during the commit: the caller gets the result when the row is
 * there, a retry that writes it once when it is not, and {@link CommitOutcomeUnknownException} only
 * where the server cannot prove what happened. Every claim is checked on the database.
 */
class CommitOutcomeResolutionTests {

    private static final String APPLICATION_NAME = "commit-outcome-it";

    private final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTable() {
        createTable(this.server);
    }

    static void createTable(PostgresServer server) {
        server.execute("DROP TABLE IF EXISTS resolved_rows");
        server.execute("CREATE TABLE resolved_rows (id text PRIMARY KEY)");
        server.execute("GRANT ALL ON resolved_rows TO " + PostgresServer.APP_USER);
    }

    static ApplicationContextRunner application(PostgresServer server, String... properties) {
        return RetryTestApplication.on(server, APPLICATION_NAME)
            .withBean(SimpleMeterRegistry.class)
            .withBean(Outcomes.class)
            .withBean(AnnotatedWriter.class)
            .withPropertyValues("resilient.db.retry.resolve-commit-outcome=true")
            .withPropertyValues(properties);
    }

    @Test
    void lostReplyOfACommittedTransactionReturnsTheResultOnce() {
        LostCommitReply lostReply = LostCommitReply.install(this.server, "resolved_rows");
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            AtomicInteger attempts = new AtomicInteger();
            lostReply.loseNextCommitReply();
            String result = template.execute(status -> {
                attempts.incrementAndGet();
                jdbc.update("INSERT INTO resolved_rows VALUES ('lost-reply')");
                lostReply.armIfDue(dataSource);
                return "stored";
            });
            assertThat(result).isEqualTo("stored");
            assertThat(attempts).hasValue(1);
            assertThat(this.server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'lost-reply'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved committed");
            assertThat(resolvedCount(context, "committed")).isEqualTo(1);
        });
    }

    @Test
    void lostReplyOfACommittedTransactionReturnsTheResultOfTheAnnotatedMethod() {
        LostCommitReply lostReply = LostCommitReply.install(this.server, "resolved_rows");
        application(this.server).run(context -> {
            AnnotatedWriter writer = context.getBean(AnnotatedWriter.class);
            lostReply.loseNextCommitReply();
            assertThat(writer.insert("annotated", lostReply)).isEqualTo("annotated stored");
            assertThat(writer.attempts()).isEqualTo(1);
            assertThat(this.server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'annotated'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved committed");
        });
    }

    @Test
    void lostReplyOfTheOuterCommitReturnsTheResultWhenAnInnerRequiresNewCommittedToo() {
        LostCommitReply lostReply = LostCommitReply.install(this.server, "resolved_rows");
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            RetryingTransactionTemplate inner = template.with(
                    new DefaultTransactionDefinition(TransactionDefinition.PROPAGATION_REQUIRES_NEW),
                    template.getRetrySettings(), false);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            lostReply.loseNextCommitReply();
            String result = template.execute(status -> {
                inner.executeWithoutResult(innerStatus -> jdbc.update("INSERT INTO resolved_rows VALUES ('inner')"));
                jdbc.update("INSERT INTO resolved_rows VALUES ('outer')");
                lostReply.armIfDue(dataSource);
                return "both";
            });
            assertThat(result).isEqualTo("both");
            assertThat(this.server.queryColumn("SELECT id FROM resolved_rows ORDER BY id")).containsExactly("inner", "outer");
        });
    }

    /**
     * The reply of an inner {@code REQUIRES_NEW} commit is lost and the server says it committed: part
     * of the unit of work is stored, so it is not run again, and the caller is told so.
     */
    @Test
    void lostReplyOfAnInnerCommitThatCommittedFailsAfterCommitAndIsNotRunAgain() {
        LostCommitReply lostReply = LostCommitReply.install(this.server, "resolved_rows");
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            TransactionTemplate inner = new TransactionTemplate(template.getTransactionManager());
            inner.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            AtomicInteger attempts = new AtomicInteger();
            lostReply.loseNextCommitReply();
            assertThatExceptionOfType(FailedAfterCommitException.class)
                .isThrownBy(() -> template.executeWithoutResult(status -> {
                    attempts.incrementAndGet();
                    jdbc.update("INSERT INTO resolved_rows VALUES ('outer')");
                    inner.executeWithoutResult(innerStatus -> {
                        jdbc.update("INSERT INTO resolved_rows VALUES ('inner')");
                        lostReply.armIfDue(dataSource);
                    });
                }));
            assertThat(attempts).hasValue(1);
            assertThat(this.server.queryColumn("SELECT id FROM resolved_rows ORDER BY id")).containsExactly("inner");
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved committed");
        });
    }

    @Test
    void backendTerminatedDuringTheCommitIsRetriedAndStoredOnce() {
        CommitHold hold = CommitHold.install(this.server, "resolved_rows");
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<Void> terminated = CompletableFuture
                .runAsync(() -> this.server.terminateBackend(hold.awaitHeldCommit()));
            template.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO resolved_rows VALUES ('terminated')");
                if (attempts.incrementAndGet() == 1) {
                    hold.arm(dataSource);
                }
            });
            terminated.get(30, TimeUnit.SECONDS);
            assertThat(attempts).hasValue(2);
            assertThat(this.server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'terminated'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved aborted");
            assertThat(resolvedCount(context, "aborted")).isEqualTo(1);
        });
    }

    @Test
    void writableTransactionThatOnlyReadAndLostItsConnectionAtCommitIsRetried() {
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger attempts = new AtomicInteger();
            Long count = template.execute(status -> {
                if (attempts.incrementAndGet() == 1) {
                    breakConnectionBeforeCommit(jdbc);
                }
                return jdbc.queryForObject("SELECT count(*) FROM resolved_rows", Long.class);
            });
            assertThat(count).isZero();
            assertThat(attempts).hasValue(2);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved aborted");
        });
    }

    @Test
    void readOnlyTransactionWhoseConnectionFailsAtCommitIsRetried() {
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            DefaultTransactionDefinition readOnly = new DefaultTransactionDefinition();
            readOnly.setReadOnly(true);
            RetryingTransactionTemplate reads = template.with(readOnly, template.getRetrySettings(), false);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger attempts = new AtomicInteger();
            Long count = reads.execute(status -> {
                if (attempts.incrementAndGet() == 1) {
                    breakConnectionBeforeCommit(jdbc);
                }
                return jdbc.queryForObject("SELECT count(*) FROM resolved_rows", Long.class);
            });
            assertThat(count).isZero();
            assertThat(attempts).hasValue(2);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved aborted");
        });
    }

    /**
     * Shared statistics reset by hand while the commit runs look like a crash to the engine: it does not
     * take "committed" as proof, and the caller is told the outcome is unknown (careful, never wrong).
     */
    @Test
    void statisticsResetDuringTheCommitMakeTheOutcomeUnknownRatherThanWrong() {
        LostCommitReply lostReply = LostCommitReply.install(this.server, "resolved_rows");
        application(this.server).run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            CompletableFuture<Void> reset = CompletableFuture.runAsync(() -> {
                awaitSleepingBackend(this.server);
                this.server.execute("SELECT pg_stat_reset_shared('bgwriter')");
            });
            lostReply.loseNextCommitReply();
            assertThatExceptionOfType(CommitOutcomeUnknownException.class)
                .isThrownBy(() -> template.executeWithoutResult(status -> {
                    jdbc.update("INSERT INTO resolved_rows VALUES ('stats-reset')");
                    lostReply.armIfDue(dataSource);
                }))
                .withMessageContaining("statistics were reset");
            reset.get(30, TimeUnit.SECONDS);
            assertThat(this.server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'stats-reset'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).containsExactly("unresolved");
            assertThat(context.getBean(MeterRegistry.class).get("resilientdb.commit.unresolved").tag("pool", "dataSource")
                .counter().count()).isEqualTo(1);
        });
    }

    @Test
    void withoutResolutionALostReplyStaysUnknown() {
        LostCommitReply lostReply = LostCommitReply.install(this.server, "resolved_rows");
        application(this.server, "resilient.db.retry.resolve-commit-outcome=false").run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            DataSource dataSource = context.getBean(DataSource.class);
            lostReply.loseNextCommitReply();
            assertThatExceptionOfType(CommitOutcomeUnknownException.class)
                .isThrownBy(() -> template.executeWithoutResult(status -> {
                    jdbc.update("INSERT INTO resolved_rows VALUES ('unresolved')");
                    lostReply.armIfDue(dataSource);
                }));
            lostReply.awaitServerSideCommits();
            assertThat(this.server.queryLong("SELECT count(*) FROM resolved_rows WHERE id = 'unresolved'")).isEqualTo(1);
            assertThat(context.getBean(Outcomes.class).events).isEmpty();
        });
    }

    private void breakConnectionBeforeCommit(JdbcTemplate jdbc) {
        int pid = jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class);
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void beforeCommit(boolean readOnly) {
                CommitOutcomeResolutionTests.this.server.terminateBackend(pid);
            }
        });
    }

    private static void awaitSleepingBackend(PostgresServer server) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (server.queryLong("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + APPLICATION_NAME
                + "' AND wait_event = 'PgSleep'") == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("No commit of the application was held within 30 s");
            }
            sleep(Duration.ofMillis(10));
        }
    }

    static void awaitRow(PostgresServer server, String id) {
        awaitRow(server, "resolved_rows", id);
    }

    /** Waits until the row is committed and visible on the server (a standby too, once replayed). */
    static void awaitRow(PostgresServer server, String table, String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (server.queryLong("SELECT count(*) FROM " + table + " WHERE id = '" + id + "'") == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Row " + id + " of " + table + " was not visible within 30 s");
            }
            sleep(Duration.ofMillis(20));
        }
    }

    private static double resolvedCount(AssertableApplicationContext context, String outcome) {
        return context.getBean(MeterRegistry.class)
            .get("resilientdb.commit.resolved")
            .tag("pool", "dataSource")
            .tag("outcome", outcome)
            .counter()
            .count();
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    /** What the engine told its listeners about resolved and unresolved commits. */
    static class Outcomes implements TransactionRetryListener {

        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void onCommitOutcomeResolved(String pool, boolean committed) {
            this.events.add("resolved " + (committed ? "committed" : "aborted"));
        }

        @Override
        public void onCommitOutcomeUnresolved(String pool, String reason) {
            this.events.add("unresolved");
        }

    }

    /** A {@code @RetryableTransactional} method that returns a value computed in its transaction. */
    static class AnnotatedWriter {

        private final AtomicInteger attempts = new AtomicInteger();

        private final JdbcTemplate jdbc;

        private final DataSource dataSource;

        AnnotatedWriter(JdbcTemplate jdbc, DataSource dataSource) {
            this.jdbc = jdbc;
            this.dataSource = dataSource;
        }

        @RetryableTransactional
        public String insert(String id, LostCommitReply lostReply) {
            this.attempts.incrementAndGet();
            this.jdbc.update("INSERT INTO resolved_rows VALUES (?)", id);
            lostReply.armIfDue(this.dataSource);
            return id + " stored";
        }

        public int attempts() {
            return this.attempts.get();
        }

    }

}
