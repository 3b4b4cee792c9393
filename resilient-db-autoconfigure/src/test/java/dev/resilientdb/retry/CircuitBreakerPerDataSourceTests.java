package dev.resilientdb.retry;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.jdbc.DataSourceBuilder;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.TransactionManager;
import org.springframework.transaction.annotation.TransactionManagementConfigurer;
import org.springframework.transaction.annotation.Transactional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;

/**
 * An application with two databases, each with its own {@code DataSource} and transaction manager,
 * on two real servers: the qualifier of {@link RetryableTransactional} is resolved without a primary
 * manager, joining is judged per database, and one database's outage does not fail calls to the other.
 */
class CircuitBreakerPerDataSourceTests {

    private static final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

    private static PostgresServer serverA;

    private static PostgresServer serverB;

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(PostgresServers.shared(), "two-databases-it")
        .withUserConfiguration(TwoDatabases.class)
        .withPropertyValues("resilient.db.pool.max-size=3", "resilient.db.pool.connection-timeout=300ms",
                "resilient.db.pool.validation-timeout=250ms");

    @BeforeAll
    static void startServers() {
        serverA = PostgresServers.shared();
        serverB = PostgresServers.startDedicated();
    }

    @AfterAll
    static void stopServerB() {
        serverB.close();
    }

    @BeforeEach
    void createTables() {
        for (PostgresServer server : new PostgresServer[] { serverA, serverB }) {
            server.execute("DROP TABLE IF EXISTS ledger");
            server.execute("CREATE TABLE ledger (id text NOT NULL)");
            server.execute("GRANT ALL ON ledger TO " + PostgresServer.APP_USER);
        }
        attempts.clear();
    }

    /** Issue 11, item 9: two managers, no primary, the annotation names one. */
    @Test
    void qualifiedTransactionManagerIsUsedWithoutAPrimaryOne() {
        this.contextRunner.withUserConfiguration(TwoManagers.class).run(context -> {
            assertThatNoException().isThrownBy(() -> context.getBean(LedgerA.class).recordTerminatingFirstAttempt("a"));
            assertThatNoException().isThrownBy(() -> context.getBean(LedgerB.class).recordTerminatingFirstAttempt("b"));
            assertThat(attempts("a")).isEqualTo(2);
            assertThat(attempts("b")).isEqualTo(2);
            assertThat(rows(serverA, "a")).isEqualTo(1);
            assertThat(rows(serverB, "b")).isEqualTo(1);
            assertThat(rows(serverA, "b") + rows(serverB, "a")).isZero();
        });
    }

    /**
     * Issue 18, item 6: with two managers and no primary, a type-level {@code @Qualifier} names the
     * manager, for the retry advice as for Spring's transaction advice.
     */
    @Test
    void typeLevelQualifierNamesTheTransactionManager() {
        this.contextRunner.withUserConfiguration(TwoManagers.class, LedgersOnB.class)
            .run(context -> {
                assertThatNoException()
                    .isThrownBy(() -> context.getBean(TypeQualifiedLedgerB.class).recordTerminatingFirstAttempt("typed"));
                assertThat(attempts("typed")).isEqualTo(2);
                assertThat(rows(serverB, "typed")).isEqualTo(1);
            });
    }

    /**
     * Issue 18, item 6: with A's manager the primary one, a boundary on B named by a type-level
     * {@code @Qualifier} inside a transaction on A judges joining against B, so it retries on its own.
     */
    @Test
    void typeLevelQualifierDecidesJoiningAgainstItsOwnDatabase() {
        this.contextRunner.withUserConfiguration(TwoManagersAPrimary.class, LedgersOnB.class).run(context -> {
            TypeQualifiedLedgerB ledgerB = context.getBean(TypeQualifiedLedgerB.class);
            // A retried first call, so that the plain transaction below does not meet a pool still filling.
            assertThat(context.getBean(LedgerA.class).selectOne()).isEqualTo(1);
            assertThatNoException().isThrownBy(() -> context.getBean(LedgerA.class)
                .recordThen("outer-typed", () -> ledgerB.recordTerminatingFirstAttempt("inner-typed")));
            assertThat(attempts("inner-typed")).isEqualTo(2);
            assertThat(rows(serverB, "inner-typed")).isEqualTo(1);
            assertThat(rows(serverA, "outer-typed")).isEqualTo(1);
        });
    }

    /**
     * Issue 18, item 6: a {@code TransactionManagementConfigurer} names the manager of unqualified
     * uses, for the retry advice as for Spring's transaction advice.
     */
    @Test
    void transactionManagementConfigurerNamesTheTransactionManager() {
        this.contextRunner.withUserConfiguration(TwoManagers.class, ManagerBForAnnotations.class, LedgersOnB.class)
            .run(context -> {
                assertThatNoException()
                    .isThrownBy(() -> context.getBean(UnqualifiedLedgerB.class).recordTerminatingFirstAttempt("configured"));
                assertThat(attempts("configured")).isEqualTo(2);
                assertThat(rows(serverB, "configured")).isEqualTo(1);
            });
    }

    /**
     * Issue 11, item 9: a retrying boundary on database B inside a transaction on database A starts
     * B's unit of work, so it retries it; the transaction on A is not what it joins.
     */
    @Test
    void boundaryOnOneDatabaseInsideATransactionOnTheOtherRetriesOnItsOwn() {
        this.contextRunner.withUserConfiguration(TwoManagersAPrimary.class).run(context -> {
            LedgerB ledgerB = context.getBean(LedgerB.class);
            assertThatNoException().isThrownBy(() -> context.getBean(LedgerA.class)
                .recordThen("outer", () -> ledgerB.recordTerminatingFirstAttempt("inner")));
            assertThat(attempts("outer")).isEqualTo(1);
            assertThat(attempts("inner")).isEqualTo(2);
            assertThat(rows(serverA, "outer")).isEqualTo(1);
            assertThat(rows(serverB, "inner")).isEqualTo(1);
        });
    }

    /** Issue 11, item 9: breaker state is kept per DataSource. */
    @Test
    void outageOfOneDatabaseDoesNotFailCallsToTheOtherFast() {
        this.contextRunner.withUserConfiguration(TwoManagersAPrimary.class)
            // A window that holds five failed requests of about 1 s each, whether attempts or requests count.
            .withPropertyValues("resilient.db.retry.deadline=1s", "resilient.db.circuit-breaker.sliding-window=10s",
                    "resilient.db.circuit-breaker.minimum-calls=5", "resilient.db.circuit-breaker.wait-in-open-state=30s")
            .run(context -> {
                LedgerA ledgerA = context.getBean(LedgerA.class);
                LedgerB ledgerB = context.getBean(LedgerB.class);
                assertThat(ledgerA.selectOne()).isEqualTo(1);
                assertThat(ledgerB.selectOne()).isEqualTo(1);
                serverB.stop();
                try {
                    boolean failingFast = false;
                    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                    while (!failingFast && System.nanoTime() < deadline) {
                        try {
                            ledgerB.selectOne();
                        }
                        catch (DatabaseUnavailableException ex) {
                            failingFast = true;
                        }
                        catch (RuntimeException ex) {
                            Thread.sleep(20);
                        }
                    }
                    assertThat(failingFast).as("calls to the stopped database B fail fast").isTrue();
                    assertThatNoException().as("a call to the healthy database A").isThrownBy(ledgerA::selectOne);
                }
                finally {
                    serverB.start();
                }
            });
    }

    private static int attempts(String id) {
        return attempts.computeIfAbsent(id, key -> new AtomicInteger()).get();
    }

    private static long rows(PostgresServer server, String id) {
        return server.queryLong("SELECT count(*) FROM ledger WHERE id = '" + id + "'");
    }

    private static HikariDataSource pool(PostgresServer server, String name) {
        HikariDataSource pool = DataSourceBuilder.create()
            .type(HikariDataSource.class)
            .url(server.jdbcUrl())
            .username(server.username())
            .password(server.password())
            .build();
        pool.setPoolName(name);
        return pool;
    }

    /** Inserts a row and, in the first attempt, has the backend terminated before the unit of work ends. */
    static void recordTerminatingFirstAttempt(PostgresServer server, JdbcTemplate jdbc, String id) {
        int attempt = attempts.computeIfAbsent(id, key -> new AtomicInteger()).incrementAndGet();
        jdbc.update("INSERT INTO ledger VALUES (?)", id);
        if (attempt == 1) {
            server.terminateBackend(jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class));
            jdbc.queryForObject("SELECT 1", Integer.class);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class TwoDatabases {

        @Bean
        HikariDataSource dataSourceA() {
            return pool(serverA, "pool-a");
        }

        @Bean
        HikariDataSource dataSourceB() {
            return pool(serverB, "pool-b");
        }

        @Bean
        LedgerA ledgerA(@Qualifier("dataSourceA") DataSource dataSource) {
            return new LedgerA(new JdbcTemplate(dataSource));
        }

        @Bean
        LedgerB ledgerB(@Qualifier("dataSourceB") DataSource dataSource) {
            return new LedgerB(new JdbcTemplate(dataSource));
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class TwoManagers {

        @Bean
        JdbcTransactionManager tmA(@Qualifier("dataSourceA") DataSource dataSource) {
            return new JdbcTransactionManager(dataSource);
        }

        @Bean
        JdbcTransactionManager tmB(@Qualifier("dataSourceB") DataSource dataSource) {
            return new JdbcTransactionManager(dataSource);
        }

    }

    /** As {@link TwoManagers}, with A's the primary one: the application-wide retrying template exists. */
    @Configuration(proxyBeanMethods = false)
    static class TwoManagersAPrimary {

        @Bean
        @Primary
        JdbcTransactionManager tmA(@Qualifier("dataSourceA") DataSource dataSource) {
            return new JdbcTransactionManager(dataSource);
        }

        @Bean
        JdbcTransactionManager tmB(@Qualifier("dataSourceB") DataSource dataSource) {
            return new JdbcTransactionManager(dataSource);
        }

    }

    /** Annotation-driven transactions use B's manager unless they name another. */
    @Configuration(proxyBeanMethods = false)
    static class ManagerBForAnnotations {

        @Bean
        TransactionManagementConfigurer managerB(BeanFactory beanFactory) {
            return () -> beanFactory.getBean("tmB", TransactionManager.class);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class LedgersOnB {

        @Bean
        TypeQualifiedLedgerB typeQualifiedLedgerB(@Qualifier("dataSourceB") DataSource dataSource) {
            return new TypeQualifiedLedgerB(new JdbcTemplate(dataSource));
        }

        @Bean
        UnqualifiedLedgerB unqualifiedLedgerB(@Qualifier("dataSourceB") DataSource dataSource) {
            return new UnqualifiedLedgerB(new JdbcTemplate(dataSource));
        }

    }

    @Qualifier("tmB")
    static class TypeQualifiedLedgerB {

        private final JdbcTemplate jdbc;

        TypeQualifiedLedgerB(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional
        public void recordTerminatingFirstAttempt(String id) {
            CircuitBreakerPerDataSourceTests.recordTerminatingFirstAttempt(serverB, this.jdbc, id);
        }

    }

    static class UnqualifiedLedgerB {

        private final JdbcTemplate jdbc;

        UnqualifiedLedgerB(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional
        public void recordTerminatingFirstAttempt(String id) {
            CircuitBreakerPerDataSourceTests.recordTerminatingFirstAttempt(serverB, this.jdbc, id);
        }

    }

    static class LedgerA {

        private final JdbcTemplate jdbc;

        LedgerA(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional(transactionManager = "tmA")
        public void recordTerminatingFirstAttempt(String id) {
            CircuitBreakerPerDataSourceTests.recordTerminatingFirstAttempt(serverA, this.jdbc, id);
        }

        /** A plain transaction on A around other work. */
        @Transactional("tmA")
        public void recordThen(String id, Runnable work) {
            attempts.computeIfAbsent(id, key -> new AtomicInteger()).incrementAndGet();
            this.jdbc.update("INSERT INTO ledger VALUES (?)", id);
            work.run();
        }

        @RetryableTransactional("tmA")
        public Integer selectOne() {
            return this.jdbc.queryForObject("SELECT 1", Integer.class);
        }

    }

    static class LedgerB {

        private final JdbcTemplate jdbc;

        LedgerB(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional(transactionManager = "tmB")
        public void recordTerminatingFirstAttempt(String id) {
            CircuitBreakerPerDataSourceTests.recordTerminatingFirstAttempt(serverB, this.jdbc, id);
        }

        @RetryableTransactional("tmB")
        public Integer selectOne() {
            return this.jdbc.queryForObject("SELECT 1", Integer.class);
        }

    }

}
