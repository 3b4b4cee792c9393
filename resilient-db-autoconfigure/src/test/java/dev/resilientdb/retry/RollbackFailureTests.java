package dev.resilientdb.retry;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * A unit of work whose rollback fails too, because its connection is gone: what decides the retry is
 * the unit of work's own failure and the application's rules, not the rollback's failure that Spring
 * Boot's {@code JdbcTransactionManager} throws in its place. On real PostgreSQL, with the connection
 * ended for real (its backend terminated, or killed by {@code idle_in_transaction_session_timeout}).
 */
class RollbackFailureTests {

    private static final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(server, "rollback-failure-it")
        .withPropertyValues("resilient.db.retry.max-attempts=3");

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS rollback_rows");
        server.execute("CREATE TABLE rollback_rows (id text NOT NULL)");
        server.execute("GRANT ALL ON rollback_rows TO " + PostgresServer.APP_USER);
    }

    /** Issue 18, finding 8 (b): the business failure is not retried, and it is what the caller gets. */
    @Test
    void businessFailureWhoseRollbackFailsOnALostConnectionIsNotRetried() {
        this.contextRunner.run(context -> {
            assertThat(context.getBean(PlatformTransactionManager.class)).isExactlyInstanceOf(JdbcTransactionManager.class);
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger calls = new AtomicInteger();
            IllegalStateException business = new IllegalStateException("business");
            Throwable thrown = catchThrowable(() -> template.executeWithoutResult(status -> {
                calls.incrementAndGet();
                jdbc.execute("SET LOCAL idle_in_transaction_session_timeout = '200ms'");
                jdbc.update("INSERT INTO rollback_rows VALUES ('business')");
                awaitSessionEnded(jdbc);
                throw business;
            }));
            assertThat(calls).as("attempts of a unit of work that failed for its own reason").hasValue(1);
            assertThat(thrown).isSameAs(business);
            assertThat(thrown.getSuppressed()).as("the failed rollback, kept").isNotEmpty();
        });
    }

    /**
     * Issue 18, finding 8 (a): {@code non-retryable-sql-states} wins over a lost connection. The terminated
     * backend answers the next statement with 57P01; the rollback after it fails with 08006.
     */
    @Test
    void nonRetryableSqlStatesWinOverALostConnection() {
        this.contextRunner.withPropertyValues("resilient.db.retry.non-retryable-sql-states=08,57P01").run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger calls = new AtomicInteger();
            Throwable thrown = catchThrowable(() -> template.executeWithoutResult(status -> {
                calls.incrementAndGet();
                jdbc.update("INSERT INTO rollback_rows VALUES ('lost')");
                terminateOwnBackend(jdbc);
            }));
            assertThat(calls).as("attempts of a unit of work whose failure the application made non-retryable")
                .hasValue(1);
            assertThat(SqlStates.of(thrown)).isEqualTo("57P01");
        });
    }

    /** Issue 18, finding 8 (b), through the annotation: Spring's transaction advice rolls back, not the template. */
    @Test
    void businessFailureWhoseRollbackFailsIsNotRetriedThroughTheAnnotation() {
        this.contextRunner.withBean(BusinessService.class).run(context -> {
            BusinessService service = context.getBean(BusinessService.class);
            Throwable thrown = catchThrowable(service::failAfterTheSessionEnded);
            assertThat(service.calls()).as("attempts of a unit of work that failed for its own reason").isEqualTo(1);
            assertThat(thrown).isInstanceOf(IllegalStateException.class).hasMessage("business");
        });
    }

    /** Issue 18, finding 8 (a), through the annotation. */
    @Test
    void nonRetryableSqlStatesWinOverALostConnectionThroughTheAnnotation() {
        this.contextRunner.withBean(BusinessService.class)
            .withPropertyValues("resilient.db.retry.non-retryable-sql-states=08,57P01")
            .run(context -> {
                BusinessService service = context.getBean(BusinessService.class);
                Throwable thrown = catchThrowable(service::loseTheConnection);
                assertThat(service.calls()).as("attempts of a unit of work whose failure the application made non-retryable")
                    .isEqualTo(1);
                assertThat(SqlStates.of(thrown)).isEqualTo("57P01");
            });
    }

    /** The other side: with the default rules, a lost connection is retried and the work lands once. */
    @Test
    void lostConnectionIsRetriedWithTheDefaultRules() {
        this.contextRunner.run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger calls = new AtomicInteger();
            template.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO rollback_rows VALUES ('retried')");
                if (calls.incrementAndGet() == 1) {
                    terminateOwnBackend(jdbc);
                }
            });
            assertThat(calls).hasValue(2);
            assertThat(server.queryLong("SELECT count(*) FROM rollback_rows WHERE id = 'retried'")).isEqualTo(1);
        });
    }

    /** Ends the connection's backend from another session, then uses the connection. */
    private static void terminateOwnBackend(JdbcTemplate jdbc) {
        int pid = jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class);
        server.execute("SELECT pg_terminate_backend(" + pid + ")");
        awaitBackendGone(pid);
        jdbc.queryForObject("SELECT 1", Integer.class);
    }

    /**
     * Waits, without using the connection, until the server has ended its idle-in-transaction session
     * ({@code idle_in_transaction_session_timeout}), however slowly a loaded machine gets there.
     */
    private static void awaitSessionEnded(JdbcTemplate jdbc) {
        awaitBackendGone(jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class));
    }

    private static void awaitBackendGone(int pid) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!server.queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()
                && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    static class BusinessService {

        private final AtomicInteger calls = new AtomicInteger();

        private final JdbcTemplate jdbc;

        BusinessService(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        /** Attempts so far; a method, since the bean is a class proxy. */
        public int calls() {
            return this.calls.get();
        }

        @RetryableTransactional
        public void failAfterTheSessionEnded() {
            this.calls.incrementAndGet();
            this.jdbc.execute("SET LOCAL idle_in_transaction_session_timeout = '200ms'");
            this.jdbc.update("INSERT INTO rollback_rows VALUES ('business-annotated')");
            awaitSessionEnded(this.jdbc);
            throw new IllegalStateException("business");
        }

        @RetryableTransactional
        public void loseTheConnection() {
            this.calls.incrementAndGet();
            this.jdbc.update("INSERT INTO rollback_rows VALUES ('lost-annotated')");
            terminateOwnBackend(this.jdbc);
        }

    }

}
