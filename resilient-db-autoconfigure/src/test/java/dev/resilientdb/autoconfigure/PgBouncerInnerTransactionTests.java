package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.retry.RetrySettings;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.DefaultTransactionDefinition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * An inner {@code REQUIRES_NEW} boundary behind a real transaction-pooling PgBouncer whose only server
 * connection the outer transaction holds: the inner's {@code SET} at the start of its transaction waits
 * for a server connection until PgBouncer's {@code query_wait_timeout} ends it with 08P01.
 */
class PgBouncerInnerTransactionTests {

    private static PostgresServer server;

    private static PgBouncer pooler;

    @BeforeAll
    static void startPooler() {
        server = PostgresServers.shared();
        pooler = PgBouncer.start(server, PoolMode.TRANSACTION, 1, "query_wait_timeout = 1");
    }

    @AfterAll
    static void stopPooler() {
        if (pooler != null) {
            pooler.close();
        }
    }

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS inner_rows");
        server.execute("CREATE TABLE inner_rows (id text PRIMARY KEY)");
        server.execute("GRANT ALL ON inner_rows TO " + PostgresServer.APP_USER);
    }

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                TransactionAutoConfiguration.class, AopAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                ResilientDbRetryAutoConfiguration.class))
        .withBean(RecordingListener.class)
        // Idle pooled connections are handed out without a validation query: behind this pooler one waits for
        // the server connection the outer transaction holds, and the pool would replace the connection instead.
        .withSystemProperties("com.zaxxer.hikari.aliveBypassWindowMs=600000")
        .withPropertyValues(pooler.dataSourceProperties())
        .withPropertyValues("resilient.db.driver.application-name=pgbouncer-inner",
                "resilient.db.driver.pooler=pgbouncer-transaction", "resilient.db.pool.max-size=4",
                "resilient.db.pool.min-idle=4",
                "resilient.db.pool.connection-timeout=10s", "resilient.db.retry.budget.enabled=false",
                "resilient.db.circuit-breaker.enabled=false");

    @Test
    void anInnerRequiresNewWhoseFirstStatementFailsIsRetriedAndTheOuterTransactionCarriesOn() {
        this.contextRunner.run(context -> {
            RetryingTransactionTemplate outer = context.getBean(RetryingTransactionTemplate.class);
            RetryingTransactionTemplate inner = outer.with(
                    new DefaultTransactionDefinition(TransactionDefinition.PROPAGATION_REQUIRES_NEW),
                    new RetrySettings(3, Duration.ofMillis(50), 2.0, Duration.ofMillis(200), Duration.ofMillis(200), 0.0,
                            Duration.ofSeconds(30)),
                    false);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            RecordingListener listener = context.getBean(RecordingListener.class);
            // Opening a connection also needs a server connection: the pool is filled before the outer takes it.
            awaitIdleConnections(context.getBean(HikariDataSource.class), 4);
            Throwable innerFailure = outer.execute(status -> {
                // Takes PgBouncer's only server connection until the outer transaction ends.
                jdbc.update("INSERT INTO inner_rows (id) VALUES ('outer-before')");
                Throwable failure = catchThrowable(() -> inner.executeWithoutResult(
                        innerStatus -> jdbc.update("INSERT INTO inner_rows (id) VALUES ('inner')")));
                jdbc.update("INSERT INTO inner_rows (id) VALUES ('outer-after')");
                return failure;
            });
            assertThat(innerFailure).isInstanceOf(CannotCreateTransactionException.class);
            assertThat(SqlStates.of(innerFailure)).isEqualTo("08P01");
            assertThat(listener.events).containsExactly("retry 1 08P01", "retry 2 08P01", "exhausted after 3 08P01");
            assertThat(server.queryLong("SELECT count(*) FROM inner_rows WHERE id LIKE 'outer-%'")).isEqualTo(2);
            assertThat(server.queryLong("SELECT count(*) FROM inner_rows WHERE id = 'inner'")).isZero();
        });
    }

    private static void awaitIdleConnections(HikariDataSource pool, int idle) throws Exception {
        pool.getConnection().close();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (pool.getHikariPoolMXBean().getIdleConnections() < idle) {
            assertThat(System.nanoTime()).as("%s idle connections within 60 s", idle).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /** Records the engine's retry events. */
    static class RecordingListener implements TransactionRetryListener {

        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void onRetry(int attempt, Throwable failure, Duration delay) {
            this.events.add("retry " + attempt + " " + SqlStates.of(failure));
        }

        @Override
        public void onExhausted(int attempts, Throwable lastFailure) {
            this.events.add("exhausted after " + attempts + " " + SqlStates.of(lastFailure));
        }

    }

}
