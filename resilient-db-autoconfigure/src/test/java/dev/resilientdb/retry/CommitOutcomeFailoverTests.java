package dev.resilientdb.retry;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import dev.resilientdb.retry.CommitOutcomeResolutionTests.Outcomes;
import dev.resilientdb.test.CommitHold;
import dev.resilientdb.test.LostCommitReply;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import dev.resilientdb.test.StreamingReplica;
import dev.resilientdb.test.StreamingReplica.Replication;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Lost commit replies resolved across a failover to a streaming standby, and behind PgBouncer in
 * transaction mode, where the question runs on another server connection than the transaction did.
 */
class CommitOutcomeFailoverTests {

    private static final String APPLICATION_NAME = "commit-outcome-failover-it";

    /**
     * The primary crashes while the commit is held (before its commit record), and the asynchronous
     * standby is promoted: the new primary, on a new timeline, never had the transaction, and the unit
     * of work is retried there.
     */
    @Test
    void commitLostWithThePrimaryIsRetriedOnThePromotedStandby() {
        try (StreamingReplica pair = StreamingReplica.start(Replication.ASYNCHRONOUS)) {
            createTable(pair);
            CommitHold hold = CommitHold.install(pair.primary(), "failover_rows");
            pair.awaitReplayed();
            application(pair).run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                DataSource dataSource = context.getBean(DataSource.class);
                AtomicInteger attempts = new AtomicInteger();
                CompletableFuture<Void> failedOver = CompletableFuture.runAsync(() -> {
                    hold.awaitHeldCommit();
                    pair.primary().kill();
                    pair.promoteStandby();
                });
                template.executeWithoutResult(status -> {
                    jdbc.update("INSERT INTO failover_rows VALUES ('failed-over')");
                    if (attempts.incrementAndGet() == 1) {
                        hold.arm(dataSource);
                    }
                });
                failedOver.get(120, TimeUnit.SECONDS);
                assertThat(attempts).hasValue(2);
                assertThat(pair.primary().queryLong("SELECT count(*) FROM failover_rows WHERE id = 'failed-over'"))
                    .isEqualTo(1);
                assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved aborted");
            });
        }
    }

    /**
     * The commit reaches the synchronous standby, its reply is lost, and the standby is promoted
     * before the resolver asks again: the new primary reports "committed" for an id of another
     * timeline, which cannot be shown to be this transaction's, so the caller is told the outcome is
     * unknown, and the row is there once (never success without it, never a second run).
     */
    @Test
    void commitReportedByThePromotedStandbyIsNotTakenAsProof() {
        try (StreamingReplica pair = StreamingReplica.start(Replication.SYNCHRONOUS)) {
            createTable(pair);
            LostCommitReply lostReply = LostCommitReply.install(pair.primary(), "failover_rows");
            pair.awaitReplayed();
            application(pair, "resilient.db.circuit-breaker.probe-interval=8s", "resilient.db.retry.deadline=40s")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    DataSource dataSource = context.getBean(DataSource.class);
                    PostgresServer standby = pair.standby();
                    CompletableFuture<Void> failedOver = CompletableFuture.runAsync(() -> {
                        CommitOutcomeResolutionTests.awaitRow(standby, "failover_rows", "synchronous");
                        pair.primary().kill();
                        pair.promoteStandby();
                    });
                    lostReply.loseNextCommitReply();
                    assertThatExceptionOfType(CommitOutcomeUnknownException.class)
                        .isThrownBy(() -> template.executeWithoutResult(status -> {
                            jdbc.update("INSERT INTO failover_rows VALUES ('synchronous')");
                            lostReply.armIfDue(dataSource);
                        }))
                        .withMessageContaining("failed over");
                    failedOver.get(120, TimeUnit.SECONDS);
                    assertThat(pair.primary().queryLong("SELECT count(*) FROM failover_rows WHERE id = 'synchronous'"))
                        .isEqualTo(1);
                    assertThat(context.getBean(Outcomes.class).events).containsExactly("unresolved");
                });
        }
    }

    @Test
    void lostReplyBehindPgBouncerInTransactionModeReturnsTheResult() {
        PostgresServer server = PostgresServers.shared();
        server.execute("DROP TABLE IF EXISTS failover_rows");
        server.execute("CREATE TABLE failover_rows (id text PRIMARY KEY)");
        server.execute("GRANT ALL ON failover_rows TO " + PostgresServer.APP_USER);
        LostCommitReply lostReply = LostCommitReply.install(server, "failover_rows");
        try (PgBouncer pooler = PgBouncer.start(server, PoolMode.TRANSACTION, 4)) {
            RetryTestApplication.on(server, APPLICATION_NAME)
                .withBean(Outcomes.class)
                .withPropertyValues(pooler.dataSourceProperties())
                .withPropertyValues("resilient.db.driver.pooler=pgbouncer-transaction",
                        "resilient.db.retry.resolve-commit-outcome=true")
                .run(context -> {
                    RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    DataSource dataSource = context.getBean(DataSource.class);
                    AtomicInteger attempts = new AtomicInteger();
                    lostReply.loseNextCommitReply();
                    String result = template.execute(status -> {
                        attempts.incrementAndGet();
                        jdbc.update("INSERT INTO failover_rows VALUES ('pgbouncer')");
                        lostReply.armIfDue(dataSource);
                        return "stored";
                    });
                    assertThat(result).isEqualTo("stored");
                    assertThat(attempts).hasValue(1);
                    assertThat(server.queryLong("SELECT count(*) FROM failover_rows WHERE id = 'pgbouncer'")).isEqualTo(1);
                    assertThat(context.getBean(Outcomes.class).events).containsExactly("resolved committed");
                });
        }
    }

    private static void createTable(StreamingReplica pair) {
        pair.primary().execute("CREATE TABLE failover_rows (id text PRIMARY KEY)");
        pair.primary().execute("GRANT ALL ON failover_rows TO " + PostgresServer.APP_USER);
    }

    private static ApplicationContextRunner application(StreamingReplica pair, String... properties) {
        return new ApplicationContextRunner().withConfiguration(RetryTestApplication.AUTO_CONFIGURATIONS)
            .withBean(Outcomes.class)
            .withPropertyValues("spring.datasource.url=" + pair.jdbcUrl(),
                    "spring.datasource.username=" + PostgresServer.APP_USER,
                    "spring.datasource.password=" + PostgresServer.APP_PASSWORD,
                    "resilient.db.driver.application-name=" + APPLICATION_NAME, "resilient.db.pool.max-size=4",
                    "resilient.db.pool.min-idle=4", "resilient.db.retry.initial-interval=50ms",
                    "resilient.db.retry.max-interval=500ms", "resilient.db.retry.deadline=30s",
                    "resilient.db.retry.max-attempts=50", "resilient.db.retry.resolve-commit-outcome=true")
            .withPropertyValues(properties);
    }

}
