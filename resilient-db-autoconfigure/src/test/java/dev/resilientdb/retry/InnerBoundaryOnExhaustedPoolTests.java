package dev.resilientdb.retry;

import java.sql.SQLTransientConnectionException;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.DefaultTransactionDefinition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * An inner {@code REQUIRES_NEW} boundary that waits for a connection of the pool whose connections its
 * own thread's suspended transactions hold: on a real pool of one connection, waiting again cannot
 * free one, so the pool's timeout is not retried.
 */
class InnerBoundaryOnExhaustedPoolTests {

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(PostgresServers.shared(), "exhausted-inner-it")
        .withPropertyValues("resilient.db.pool.max-size=1", "resilient.db.pool.connection-timeout=500ms",
                "resilient.db.pool.validation-timeout=250ms", "resilient.db.retry.deadline=10s",
                "resilient.db.retry.budget.enabled=false", "resilient.db.circuit-breaker.enabled=false");

    @Test
    void anInnerBoundaryDoesNotRetryThePoolTimeoutItCausesItself() {
        this.contextRunner.run(context -> {
            RetryingTransactionTemplate outer = context.getBean(RetryingTransactionTemplate.class);
            RetryingTransactionTemplate inner = outer.with(
                    new DefaultTransactionDefinition(TransactionDefinition.PROPAGATION_REQUIRES_NEW),
                    outer.getRetrySettings(), false);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            RetryTestApplication.RecordingListener listener = context.getBean(RetryTestApplication.RecordingListener.class);
            Throwable innerFailure = outer.execute(status -> {
                jdbc.queryForObject("SELECT 1", Integer.class);
                return catchThrowable(() -> inner.execute(innerStatus -> jdbc.queryForObject("SELECT 2", Integer.class)));
            });
            assertThat(innerFailure).isInstanceOf(CannotCreateTransactionException.class)
                .hasCauseInstanceOf(SQLTransientConnectionException.class);
            assertThat(listener.events).as("retry events").isEmpty();
            assertThat(context.getBean(HikariDataSource.class).getHikariPoolMXBean().getActiveConnections()).isZero();
        });
    }

    @Test
    void aTopLevelBoundaryStillRetriesThePoolTimeout() {
        this.contextRunner.withPropertyValues("resilient.db.retry.max-attempts=3").run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            RetryTestApplication.RecordingListener listener = context.getBean(RetryTestApplication.RecordingListener.class);
            try (var held = pool.getConnection()) {
                Throwable failure = catchThrowable(() -> template.execute(status -> 1));
                assertThat(failure).isInstanceOf(CannotCreateTransactionException.class);
            }
            assertThat(listener.retries()).isEqualTo(2);
        });
    }

}
