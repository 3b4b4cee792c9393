package dev.resilientdb.retry;

import java.io.IOException;
import java.util.function.Supplier;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.IllegalTransactionStateException;
import org.springframework.transaction.annotation.Isolation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * {@link RetryableTransactional} is a {@code @Transactional} first: its transaction attributes are
 * resolved as Spring resolves {@code @Transactional}'s, with retry off it is still a transaction, and
 * a conflict between attributes either works or fails loudly, never silently.
 */
class RetryableTransactionalAttributesTests {

    private static final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(server, "attributes-it")
        .withUserConfiguration(Services.class);

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS attribute_rows");
        server.execute("CREATE TABLE attribute_rows (id text NOT NULL)");
        server.execute("GRANT ALL ON attribute_rows TO " + PostgresServer.APP_USER);
    }

    /** Issue 11, item 7: off means "a plain @Transactional", not "no transaction at all". */
    @ParameterizedTest
    @ValueSource(strings = { "resilient.db.retry.enabled=false", "resilient.db.enabled=false" })
    void switchedOffItStillRunsInATransaction(String switchedOff) {
        this.contextRunner.withPropertyValues(switchedOff).run(context -> {
            RetryableJobs jobs = context.getBean(RetryableJobs.class);
            assertThatIllegalStateException().isThrownBy(() -> jobs.insertThenFail("switched-off"));
            assertThat(rows("switched-off")).as("rows left by a failed @RetryableTransactional method").isZero();
            assertThat(jobs.serializable()).isEqualTo("serializable in transaction");
        });
    }

    /** Issue 11, item 8: method-level {@code @Transactional} attributes win, as in Spring's own resolution. */
    @Test
    void methodLevelTransactionalIsolationAndReadOnlyWinOverClassLevelRetryableTransactional() {
        this.contextRunner.run(context -> assertThat(context.getBean(ClassLevelRetry.class).serializableReadOnly())
            .isEqualTo("serializable on"));
    }

    /** Issue 11, item 8: the method-level timeout applies (the sleep outlasts it). */
    @Test
    void methodLevelTransactionalTimeoutWinsOverClassLevelRetryableTransactional() {
        this.contextRunner.run(context -> assertThatException()
            .as("a 3 s statement in a transaction with a 1 s timeout")
            .isThrownBy(() -> context.getBean(ClassLevelRetry.class).sleepBeyondTimeout()));
    }

    /** Issue 11, item 8: a method-level rollback rule rolls back, and the caller gets the method's exception. */
    @Test
    void methodLevelTransactionalRollbackRuleWinsOverClassLevelRetryableTransactional() {
        this.contextRunner.run(context -> {
            assertThatExceptionOfType(IOException.class)
                .isThrownBy(() -> context.getBean(ClassLevelRetry.class).insertThenThrowChecked("rule"));
            assertThat(rows("rule")).isZero();
        });
    }

    /** Issue 11, item 8: joining an outer transaction that runs at another isolation fails at the call. */
    @Test
    void joiningAnOuterTransactionWithAnotherIsolationFailsAtTheCall() {
        this.contextRunner.run(context -> {
            RetryableJobs jobs = context.getBean(RetryableJobs.class);
            assertThatExceptionOfType(IllegalTransactionStateException.class)
                .isThrownBy(() -> context.getBean(OuterTransactions.class).readWrite(jobs::serializable));
        });
    }

    /** Issue 11, item 8: joining a read-only outer transaction for writing fails at the call. */
    @Test
    void joiningAReadOnlyOuterTransactionForWritingFailsAtTheCall() {
        this.contextRunner.run(context -> {
            RetryableJobs jobs = context.getBean(RetryableJobs.class);
            assertThatExceptionOfType(IllegalTransactionStateException.class)
                .isThrownBy(() -> context.getBean(OuterTransactions.class).readOnly(jobs::readOnlySetting));
        });
    }

    private static long rows(String id) {
        return server.queryLong("SELECT count(*) FROM attribute_rows WHERE id = '" + id + "'");
    }

    @Configuration(proxyBeanMethods = false)
    static class Services {

        @Bean
        RetryableJobs retryableJobs(JdbcTemplate jdbc) {
            return new RetryableJobs(jdbc);
        }

        @Bean
        ClassLevelRetry classLevelRetry(JdbcTemplate jdbc) {
            return new ClassLevelRetry(jdbc);
        }

        @Bean
        OuterTransactions outerTransactions() {
            return new OuterTransactions();
        }

    }

    static class RetryableJobs {

        private final JdbcTemplate jdbc;

        RetryableJobs(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional
        public void insertThenFail(String id) {
            this.jdbc.update("INSERT INTO attribute_rows VALUES (?)", id);
            throw new IllegalStateException("fails after its insert");
        }

        @RetryableTransactional(isolation = Isolation.SERIALIZABLE)
        public String serializable() {
            boolean inTransaction = TransactionSynchronizationManager.isActualTransactionActive();
            return this.jdbc.queryForObject("SHOW transaction_isolation", String.class)
                    + (inTransaction ? " in transaction" : " without transaction");
        }

        @RetryableTransactional
        public String readOnlySetting() {
            return this.jdbc.queryForObject("SHOW transaction_read_only", String.class);
        }

    }

    @RetryableTransactional
    static class ClassLevelRetry {

        private final JdbcTemplate jdbc;

        ClassLevelRetry(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Transactional(isolation = Isolation.SERIALIZABLE, readOnly = true)
        public String serializableReadOnly() {
            return this.jdbc.queryForObject("SHOW transaction_isolation", String.class) + " "
                    + this.jdbc.queryForObject("SHOW transaction_read_only", String.class);
        }

        @Transactional(timeout = 1)
        public void sleepBeyondTimeout() {
            this.jdbc.queryForObject("SELECT pg_sleep(3)", Object.class);
        }

        @Transactional(rollbackFor = IOException.class)
        public void insertThenThrowChecked(String id) throws IOException {
            this.jdbc.update("INSERT INTO attribute_rows VALUES (?)", id);
            throw new IOException("rolls back by the method's rule");
        }

    }

    /** Plain {@code @Transactional} callers, as existing code has them. */
    static class OuterTransactions {

        @Transactional
        public <T> T readWrite(Supplier<T> work) {
            return work.get();
        }

        @Transactional(readOnly = true)
        public <T> T readOnly(Supplier<T> work) {
            return work.get();
        }

    }

}
