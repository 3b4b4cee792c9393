package dev.resilientdb.retry;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.retry.RetryTestApplication.RecordingListener;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.StreamingReplica;
import dev.resilientdb.test.StreamingReplica.Replication;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A primary demoted under the pool's open connections (fenced read-only, the standby promoted): a
 * write on a pooled connection gets SQLSTATE 25006, which HikariCP does not evict for. The starter
 * evicts that connection and the pool's others, and retries, since nothing can have committed on a
 * read-only server; the engine's rules on earlier commits and read-only transactions still hold.
 */
class FailoverRetryTests {

    private static final String APPLICATION_NAME = "failover-it";

    private StreamingReplica pair;

    @BeforeEach
    void startPair() {
        this.pair = StreamingReplica.start(Replication.ASYNCHRONOUS);
        this.pair.primary().execute("CREATE TABLE failover_rows (id text PRIMARY KEY)");
        this.pair.primary().execute("GRANT ALL ON failover_rows TO " + PostgresServer.APP_USER);
        this.pair.awaitReplayed();
    }

    @AfterEach
    void closePair() {
        this.pair.close();
    }

    @Test
    void writeOnADemotedPrimaryIsRetriedOnThePromotedStandbyAndThePoolLeavesTheDemotedServer() {
        application().run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            template.executeWithoutResult(status -> jdbc.update("INSERT INTO failover_rows VALUES ('before')"));
            PostgresServer demoted = this.pair.primary();
            awaitAppSessions(demoted, 4);

            this.pair.fencePrimary();
            this.pair.awaitReplayed();
            this.pair.promoteStandby();
            AtomicInteger attempts = new AtomicInteger();
            template.executeWithoutResult(status -> {
                attempts.incrementAndGet();
                jdbc.update("INSERT INTO failover_rows VALUES ('after')");
            });

            assertThat(attempts.get()).isGreaterThan(1);
            assertThat(context.getBean(RecordingListener.class).events).first().isEqualTo("retry 1 25006");
            assertThat(this.pair.primary().queryLong("SELECT count(*) FROM failover_rows WHERE id = 'after'")).isEqualTo(1);
            // Soft-evicted: the pool's idle connections to the demoted server are closed, not only the failing one.
            awaitNoAppSessions(demoted);
        });
    }

    @Test
    void writeInATransactionTheApplicationDeclaredReadOnlyIsNeitherRetriedNorEvictsThePool() {
        application().run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            template.executeWithoutResult(status -> jdbc.update("INSERT INTO failover_rows VALUES ('before')"));
            awaitAppSessions(this.pair.primary(), 4);
            java.util.List<String> sessions = appSessionPids(this.pair.primary());
            DefaultTransactionDefinition readOnly = new DefaultTransactionDefinition();
            readOnly.setReadOnly(true);
            RetryingTransactionTemplate readOnlyTemplate = template.with(readOnly, template.getRetrySettings(), false);
            assertThatExceptionOfType(DataAccessException.class)
                .isThrownBy(() -> readOnlyTemplate
                    .executeWithoutResult(status -> jdbc.update("INSERT INTO failover_rows VALUES ('read-only')")))
                .satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("25006"));
            assertThat(context.getBean(RecordingListener.class).events).isEmpty();
            assertThat(appSessionPids(this.pair.primary())).as("the same sessions: none evicted").isEqualTo(sessions);
        });
    }

    @Test
    void demotionAfterAnInnerCommitCompletedDoesNotRunTheUnitOfWorkAgain() {
        application().run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            TransactionTemplate inner = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
            inner.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
            AtomicInteger attempts = new AtomicInteger();
            assertThatExceptionOfType(DataAccessException.class).isThrownBy(() -> template.executeWithoutResult(status -> {
                attempts.incrementAndGet();
                inner.executeWithoutResult(innerStatus -> jdbc.update("INSERT INTO failover_rows VALUES ('inner')"));
                this.pair.fencePrimary();
                jdbc.update("INSERT INTO failover_rows VALUES ('outer')");
            })).satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("25006"));
            assertThat(attempts).hasValue(1);
            assertThat(this.pair.primary().queryLong("SELECT count(*) FROM failover_rows WHERE id = 'inner'")).isEqualTo(1);
        });
    }

    private ApplicationContextRunner application() {
        return new ApplicationContextRunner().withConfiguration(RetryTestApplication.AUTO_CONFIGURATIONS)
            .withBean(RecordingListener.class)
            .withPropertyValues("spring.datasource.url=" + this.pair.jdbcUrl(),
                    "spring.datasource.username=" + PostgresServer.APP_USER,
                    "spring.datasource.password=" + PostgresServer.APP_PASSWORD,
                    "resilient.db.driver.application-name=" + APPLICATION_NAME, "resilient.db.pool.max-size=4",
                    "resilient.db.pool.min-idle=4", "resilient.db.retry.initial-interval=50ms",
                    "resilient.db.retry.max-interval=500ms", "resilient.db.retry.deadline=30s",
                    "resilient.db.retry.max-attempts=50");
    }

    private static long appSessions(PostgresServer server) {
        return server.queryLong("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + APPLICATION_NAME + "'");
    }

    private static java.util.List<String> appSessionPids(PostgresServer server) {
        return server.queryColumn("SELECT pid FROM pg_stat_activity WHERE application_name = '" + APPLICATION_NAME
                + "' ORDER BY pid");
    }

    private static void awaitNoAppSessions(PostgresServer server) {
        awaitAppSessions(server, 0);
    }

    private static void awaitAppSessions(PostgresServer server, long sessions) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (appSessions(server) != sessions) {
            assertThat(System.nanoTime()).as("the pool holds " + sessions + " sessions on port " + server.port()
                    + " within 30 s").isLessThan(deadline);
            sleep(Duration.ofMillis(100));
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

}
