package dev.resilientdb.autoconfigure;

import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.test.PgBouncer;
import dev.resilientdb.test.PgBouncer.PoolMode;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.transaction.CannotCreateTransactionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * PgBouncer's own login refusals, as a real PgBouncer 1.18 sends them: SQLSTATE 08P01, a connection
 * exception by its class, known as a refusal only by its message. Waiting or retrying does not mend
 * them, and repeating a wrong password can lock the account.
 */
@ExtendWith(OutputCaptureExtension.class)
class PgBouncerLoginRefusalTests {

    private static PostgresServer server;

    private static PgBouncer pooler;

    @BeforeAll
    static void startPooler() {
        server = PostgresServers.shared();
        pooler = PgBouncer.start(server, PoolMode.TRANSACTION, 2);
    }

    @AfterAll
    static void stopPooler() {
        if (pooler != null) {
            pooler.close();
        }
    }

    @Test
    void aWrongPasswordIsALoginRejection() {
        SQLException refusal = connect(pooler.jdbcUrl(), PostgresServer.APP_USER, "wrong-" + PostgresServer.APP_PASSWORD);
        assertThat(SqlStates.isLoginRejected(refusal)).as("%s (SQLSTATE %s)", refusal.getMessage(), refusal.getSQLState())
            .isTrue();
    }

    @Test
    void anUnknownDatabaseIsALoginRejection() {
        SQLException refusal = connect(pooler.jdbcUrl() + "_missing", PostgresServer.APP_USER, PostgresServer.APP_PASSWORD);
        assertThat(SqlStates.isLoginRejected(refusal)).as("%s (SQLSTATE %s)", refusal.getMessage(), refusal.getSQLState())
            .isTrue();
    }

    @Test
    void anUnknownUserIsALoginRejection() {
        SQLException refusal = connect(pooler.jdbcUrl(), "nobody_here", PostgresServer.APP_PASSWORD);
        assertThat(SqlStates.isLoginRejected(refusal)).as("%s (SQLSTATE %s)", refusal.getMessage(), refusal.getSQLState())
            .isTrue();
    }

    @Test
    void thePoolTriesAWrongPasswordOnceAndFailsAtOnce() {
        int before = loginRefusals();
        poolBehindPgBouncer().run(context -> {
            DataSource pool = context.getBean(DataSource.class);
            assertThatExceptionOfType(SQLException.class).isThrownBy(pool::getConnection)
                .satisfies(ex -> assertThat(SqlStates.isLoginRejected(ex)).isTrue());
            assertThat(loginRefusals() - before).as("logins PgBouncer refused; its log:%n%s", pooler.log()).isEqualTo(1);
        });
    }

    @Test
    void theRetryEngineDoesNotRetryAWrongPassword() {
        int before = loginRefusals();
        poolBehindPgBouncer()
            .withConfiguration(AutoConfigurations.of(DataSourceTransactionManagerAutoConfiguration.class,
                    TransactionAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class))
            .withBean(RetryEvents.class)
            .withPropertyValues("resilient.db.retry.initial-interval=50ms", "resilient.db.retry.deadline=10s",
                    "resilient.db.retry.budget.enabled=false", "resilient.db.circuit-breaker.enabled=false")
            .run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                assertThatExceptionOfType(CannotCreateTransactionException.class)
                    .isThrownBy(() -> template.execute(status -> 1));
                assertThat(context.getBean(RetryEvents.class).retries).as("retries").hasValue(0);
                assertThat(loginRefusals() - before).as("logins PgBouncer refused; its log:%n%s", pooler.log())
                    .isEqualTo(1);
            });
    }

    @Test
    void theStartUpWaitStopsAtAPgBouncerLoginRefusal() {
        int before = loginRefusals();
        poolBehindPgBouncer().withPropertyValues("resilient.db.startup.wait-for-database=20s").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("SASL authentication failed");
            assertThat(context.getStartupFailure()).hasStackTraceContaining("which waiting does not mend");
            assertThat(loginRefusals() - before).as("logins PgBouncer refused; its log:%n%s", pooler.log()).isEqualTo(1);
        });
    }

    @Test
    void theStartUpFailureSaysPgBouncerRefusedTheLogin(CapturedOutput output) {
        String wrongPassword = "wrong-secret-0815";
        assertThatException().isThrownBy(new SpringApplicationBuilder(DatabaseConnectionFailureAnalyzerTests.ConnectingApplication.class)
            .web(WebApplicationType.NONE)
            .properties(pooler.dataSourceProperties())
            .properties("spring.datasource.password=" + wrongPassword, "resilient.db.driver.pooler=pgbouncer-transaction",
                    "resilient.db.startup.wait-for-database=20s")::run);
        assertThat(output).as("a failure analysis").contains("APPLICATION FAILED TO START");
        String report = output.toString().substring(output.toString().indexOf("APPLICATION FAILED TO START"));
        assertThat(report).contains("PgBouncer refused the login (SQLSTATE 08P01: SASL authentication failed)")
            .contains("PgBouncer's [databases]");
        assertThat(output).doesNotContain(wrongPassword);
    }

    private static ApplicationContextRunner poolBehindPgBouncer() {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
            .withPropertyValues(pooler.dataSourceProperties())
            // 1ms: the pool's first attempt reaches the caller as it is, rather than HikariCP trying again in the background.
            .withPropertyValues("spring.datasource.password=wrong-password", "resilient.db.pool.connection-timeout=5s",
                    "resilient.db.pool.initialization-fail-timeout=1ms",
                    "resilient.db.driver.pooler=pgbouncer-transaction");
    }

    /** Logins PgBouncer refused so far, from its log (one line per refused client). */
    private static int loginRefusals() {
        return (int) pooler.log().lines().filter(line -> line.contains("closing because: SASL authentication failed")).count();
    }

    /** Counts the engine's retries. */
    static class RetryEvents implements TransactionRetryListener {

        final AtomicInteger retries = new AtomicInteger();

        @Override
        public void onRetry(int attempt, Throwable failure, Duration delay) {
            this.retries.incrementAndGet();
        }

    }

    private static SQLException connect(String url, String user, String password) {
        SQLException refusal = catchThrowableOfType(SQLException.class,
                () -> DriverManager.getConnection(url, user, password).close());
        assertThat((Throwable) refusal).as("the login through PgBouncer is refused").isNotNull();
        return refusal;
    }

}
