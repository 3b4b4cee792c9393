package dev.resilientdb.retry;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Isolation;
import org.springframework.transaction.annotation.Transactional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * {@link RetryableTransactional} on real PostgreSQL: each attempt a new transaction, the
 * transaction attributes applied, rollback rules as with {@code @Transactional}, and retry only at
 * the outermost retrying boundary.
 */
class RetryableTransactionalTests {

    private static final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(server, "retryable-it")
        .withUserConfiguration(Services.class);

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS annotated_rows");
        server.execute("CREATE TABLE annotated_rows (id text PRIMARY KEY)");
        server.execute("GRANT ALL ON annotated_rows TO " + PostgresServer.APP_USER);
    }

    @Test
    void annotatedMethodIsRunAgainInANewTransactionAfterItsBackendIsTerminated() {
        this.contextRunner.run(context -> {
            Jobs jobs = context.getBean(Jobs.class);
            jobs.insertTerminatingFirstAttempt("method");
            assertThat(jobs.calls()).isEqualTo(2);
            assertThat(rows("method")).isEqualTo(1);
        });
    }

    @Test
    void classLevelAnnotationAppliesToPublicMethods() {
        this.contextRunner.run(context -> {
            ClassLevelJobs jobs = context.getBean(ClassLevelJobs.class);
            jobs.insertTerminatingFirstAttempt("class");
            assertThat(jobs.calls()).isEqualTo(2);
            assertThat(rows("class")).isEqualTo(1);
        });
    }

    @Test
    void retryAdviceRunsOutsideTransactionalAdviceOnTheSameMethod() {
        this.contextRunner.run(context -> {
            Jobs jobs = context.getBean(Jobs.class);
            jobs.alsoTransactional("both");
            assertThat(jobs.calls()).isEqualTo(2);
            assertThat(rows("both")).isEqualTo(1);
        });
    }

    @Test
    void transactionAttributesApplyToEveryAttempt() {
        this.contextRunner.run(context -> {
            Jobs jobs = context.getBean(Jobs.class);
            assertThat(jobs.isolationAndReadOnly()).isEqualTo("serializable on");
        });
    }

    @Test
    void maxAttemptsOverrideBoundsTheRetries() {
        this.contextRunner.run(context -> {
            Jobs jobs = context.getBean(Jobs.class);
            assertThatExceptionOfType(DataAccessException.class).isThrownBy(jobs::alwaysTerminated)
                .satisfies(ex -> assertThat(SqlStates.of(ex)).isEqualTo("57P01"));
            assertThat(jobs.calls()).isEqualTo(2);
        });
    }

    @Test
    void rollbackRulesAreThoseOfTransactional() {
        this.contextRunner.run(context -> {
            Jobs jobs = context.getBean(Jobs.class);
            assertThatExceptionOfType(IOException.class).isThrownBy(() -> jobs.checkedRollingBack("rolled-back"));
            assertThat(rows("rolled-back")).isZero();
            assertThatExceptionOfType(IOException.class).isThrownBy(() -> jobs.checkedCommitting("committed-checked"));
            assertThat(rows("committed-checked")).isEqualTo(1);
            assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> jobs.noRollbackFor("committed-runtime"));
            assertThat(rows("committed-runtime")).isEqualTo(1);
            assertThatExceptionOfType(IllegalArgumentException.class).isThrownBy(() -> jobs.runtimeFailure("rolled-back-runtime"));
            assertThat(rows("rolled-back-runtime")).isZero();
            assertThat(jobs.calls()).isEqualTo(4);
        });
    }

    @Test
    void nestedRetryableMethodIsRetriedOnlyAtTheOutermostBoundary() {
        this.contextRunner.run(context -> {
            Orders orders = context.getBean(Orders.class);
            Jobs jobs = context.getBean(Jobs.class);
            orders.placeRetryable("nested");
            assertThat(orders.calls()).isEqualTo(2);
            assertThat(jobs.calls()).isEqualTo(2);
            assertThat(rows("nested")).isEqualTo(1);
        });
    }

    @Test
    void retryableMethodInsidePlainTransactionalIsNotRetried() {
        this.contextRunner.run(context -> {
            Orders orders = context.getBean(Orders.class);
            Jobs jobs = context.getBean(Jobs.class);
            // Spring reports the outer transaction's failed rollback on the dead connection; what matters is one attempt.
            assertThatException().isThrownBy(() -> orders.placeTransactional("plain"));
            assertThat(orders.calls()).isEqualTo(1);
            assertThat(jobs.calls()).isEqualTo(1);
            assertThat(rows("plain")).isZero();
        });
    }

    @Test
    void adviceOrderComesFromTheProperty() {
        this.contextRunner.withPropertyValues("resilient.db.retry.order=42")
            .run(context -> assertThat(context.getBean(RetryableTransactionalAdvisor.class).getOrder()).isEqualTo(42));
    }

    private static long rows(String id) {
        return server.queryLong("SELECT count(*) FROM annotated_rows WHERE id = '" + id + "'");
    }

    /** Terminates the backend of the calling transaction, as an administrator or a failover would. */
    static void terminateOwnBackend(JdbcTemplate jdbc) {
        int pid = jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class);
        server.execute("SELECT pg_terminate_backend(" + pid + ")");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!server.queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()
                && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        jdbc.queryForObject("SELECT 1", Integer.class);
    }

    @Configuration(proxyBeanMethods = false)
    static class Services {

        @Bean
        Jobs jobs(JdbcTemplate jdbc) {
            return new Jobs(jdbc);
        }

        @Bean
        ClassLevelJobs classLevelJobs(JdbcTemplate jdbc) {
            return new ClassLevelJobs(jdbc);
        }

        @Bean
        Orders orders(Jobs jobs) {
            return new Orders(jobs);
        }

    }

    static class Jobs {

        final AtomicInteger calls = new AtomicInteger();

        public int calls() {
            return this.calls.get();
        }

        private final JdbcTemplate jdbc;

        Jobs(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional
        public void insertTerminatingFirstAttempt(String id) {
            this.jdbc.update("INSERT INTO annotated_rows VALUES (?)", id);
            if (this.calls.incrementAndGet() == 1) {
                terminateOwnBackend(this.jdbc);
            }
        }

        @Transactional
        @RetryableTransactional
        public void alsoTransactional(String id) {
            insertTerminatingFirstAttempt(id);
        }

        @RetryableTransactional(isolation = Isolation.SERIALIZABLE, readOnly = true)
        public String isolationAndReadOnly() {
            return this.jdbc.queryForObject("SHOW transaction_isolation", String.class) + " "
                    + this.jdbc.queryForObject("SHOW transaction_read_only", String.class);
        }

        @RetryableTransactional(maxAttempts = 2)
        public void alwaysTerminated() {
            this.calls.incrementAndGet();
            terminateOwnBackend(this.jdbc);
        }

        @RetryableTransactional(rollbackFor = IOException.class)
        public void checkedRollingBack(String id) throws IOException {
            this.calls.incrementAndGet();
            this.jdbc.update("INSERT INTO annotated_rows VALUES (?)", id);
            throw new IOException("checked, rolls back by rule");
        }

        @RetryableTransactional
        public void checkedCommitting(String id) throws IOException {
            this.calls.incrementAndGet();
            this.jdbc.update("INSERT INTO annotated_rows VALUES (?)", id);
            throw new IOException("checked, commits by default");
        }

        @RetryableTransactional(noRollbackFor = IllegalStateException.class)
        public void noRollbackFor(String id) {
            this.calls.incrementAndGet();
            this.jdbc.update("INSERT INTO annotated_rows VALUES (?)", id);
            throw new IllegalStateException("commits by rule");
        }

        @RetryableTransactional
        public void runtimeFailure(String id) {
            this.calls.incrementAndGet();
            this.jdbc.update("INSERT INTO annotated_rows VALUES (?)", id);
            throw new IllegalArgumentException("rolls back, not retried");
        }

    }

    @RetryableTransactional
    static class ClassLevelJobs {

        final AtomicInteger calls = new AtomicInteger();

        public int calls() {
            return this.calls.get();
        }

        private final JdbcTemplate jdbc;

        ClassLevelJobs(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        public void insertTerminatingFirstAttempt(String id) {
            this.jdbc.update("INSERT INTO annotated_rows VALUES (?)", id);
            if (this.calls.incrementAndGet() == 1) {
                terminateOwnBackend(this.jdbc);
            }
        }

    }

    static class Orders {

        final AtomicInteger calls = new AtomicInteger();

        public int calls() {
            return this.calls.get();
        }

        private final Jobs jobs;

        Orders(Jobs jobs) {
            this.jobs = jobs;
        }

        @RetryableTransactional
        public void placeRetryable(String id) {
            this.calls.incrementAndGet();
            this.jobs.insertTerminatingFirstAttempt(id);
        }

        @Transactional
        public void placeTransactional(String id) {
            this.calls.incrementAndGet();
            this.jobs.insertTerminatingFirstAttempt(id);
        }

    }

}
