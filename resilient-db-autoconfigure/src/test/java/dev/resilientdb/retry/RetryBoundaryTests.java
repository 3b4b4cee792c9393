package dev.resilientdb.retry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import dev.resilientdb.test.LostCommitReply;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Where a unit of work begins and ends, and what may run again: once any commit of the unit may have
 * happened, nothing is re-run unless the use is idempotent, whoever classified the failure and
 * whichever bean shares the method. On real PostgreSQL, with a real lost commit reply
 * ({@link LostCommitReply}): the server commits, the client sees 08006.
 */
class RetryBoundaryTests {

    private static final PostgresServer server = PostgresServers.shared();

    private static final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

    private static LostCommitReply lostReply;

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(server, "boundary-it");

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS boundary_rows");
        // No key: a unit of work applied twice shows as two rows.
        server.execute("CREATE TABLE boundary_rows (id text NOT NULL)");
        server.execute("GRANT ALL ON boundary_rows TO " + PostgresServer.APP_USER);
        lostReply = LostCommitReply.install(server, "boundary_rows");
        attempts.clear();
    }

    @AfterEach
    void awaitDelayedCommits() {
        lostReply.awaitServerSideCommits();
    }

    /**
     * Issue 11, item 4: attributes are resolved per method and target class, not per method. With
     * interface-based (JDK) proxies both beans are called through the one interface method.
     */
    @Test
    void beansSharingAnInterfaceMethodKeepTheirOwnSettings() {
        this.contextRunner.withUserConfiguration(Ledgers.class).withPropertyValues("spring.aop.proxy-target-class=false")
            .run(context -> {
                context.getBean("idempotentLedger", Ledger.class).record("idempotent");
                assertThat(rows("idempotent")).isEqualTo(1);

                lostReply.loseNextCommitReply();
                Throwable thrown = catchThrowable(() -> context.getBean("plainLedger", Ledger.class).record("plain"));
                lostReply.awaitServerSideCommits();
                assertThat(rows("plain")).as("rows written by the non-idempotent bean").isEqualTo(1);
                assertThat(attempts("plain")).isEqualTo(1);
                assertThat(thrown).isInstanceOf(CommitOutcomeUnknownException.class);
            });
    }

    /**
     * Issue 11, item 5: an inner commit with an unknown outcome is an unknown outcome of the unit.
     * Spring Boot's {@code JdbcTransactionManager} reports the lost reply as the failed rollback that
     * follows it ("Connection is closed", no SQLSTATE); a plain {@code DataSourceTransactionManager}
     * reports the commit's own 08006.
     */
    @ParameterizedTest
    @ValueSource(classes = { JdbcTransactionManager.class, DataSourceTransactionManager.class })
    void innerRequiresNewCommitWithLostReplyIsAnUnknownOutcomeAndNotReRun(Class<?> transactionManager) {
        this.contextRunner.withUserConfiguration(Orders.class)
            .with(runner -> (transactionManager == DataSourceTransactionManager.class)
                    ? runner.withUserConfiguration(PlainDataSourceTransactionManager.class) : runner)
            .run(context -> {
                assertThat(context.getBean(PlatformTransactionManager.class)).isExactlyInstanceOf(transactionManager);
                lostReply.loseNextCommitReply();
                Throwable thrown = catchThrowable(() -> context.getBean(OrderService.class).place("order"));
                lostReply.awaitServerSideCommits();
                assertThat(rows("audit:order")).as("rows committed by the inner REQUIRES_NEW").isEqualTo(1);
                assertThat(attempts("order")).isEqualTo(1);
                assertThat(rows("order")).isZero();
                assertThat(thrown).isInstanceOf(CommitOutcomeUnknownException.class);
            });
    }

    /** Issue 11, item 5: a failure thrown out of commit() after the commit happened does not re-run the unit. */
    @Test
    void failureFromAnAfterCommitCallbackDoesNotReRunCommittedWork() {
        this.contextRunner.run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger calls = new AtomicInteger();
            TransientDataAccessResourceException afterCommitFailure = new TransientDataAccessResourceException(
                    "a listener failed after the commit");
            Throwable thrown = catchThrowable(() -> template.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO boundary_rows VALUES ('after-commit')");
                if (calls.incrementAndGet() == 1) {
                    TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                        @Override
                        public void afterCommit() {
                            throw afterCommitFailure;
                        }
                    });
                }
            }));
            assertThat(calls).as("attempts of a unit of work that had committed").hasValue(1);
            assertThat(rows("after-commit")).isEqualTo(1);
            assertThat(causes(thrown)).as("what the caller got").contains(afterCommitFailure);
            assertThat(thrown).isInstanceOf(FailedAfterCommitException.class);
        });
    }

    /**
     * Issue 18, finding 9: a write in a read-only inner transaction (pgjdbc sends {@code BEGIN READ ONLY})
     * fails with 25006, the application's own mistake: not a demoted primary, so not retried.
     */
    @Test
    void writeInAReadOnlyInnerTransactionIsNotRetried() {
        this.contextRunner.withPropertyValues("resilient.db.retry.max-attempts=3").run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            TransactionTemplate readOnlyInner = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
            readOnlyInner.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
            readOnlyInner.setReadOnly(true);
            AtomicInteger calls = new AtomicInteger();
            Throwable thrown = catchThrowable(() -> template.executeWithoutResult(status -> {
                calls.incrementAndGet();
                jdbc.update("INSERT INTO boundary_rows VALUES ('outer')");
                readOnlyInner.executeWithoutResult(inner -> jdbc.update("INSERT INTO boundary_rows VALUES ('read-only')"));
            }));
            assertThat(calls).as("attempts of a unit of work whose read-only inner transaction wrote").hasValue(1);
            assertThat(SqlStates.of(thrown)).isEqualTo("25006");
            assertThat(thrown).isInstanceOf(WriteInReadOnlyTransactionException.class);
            assertThat(rows("outer")).isZero();
        });
    }

    /** Issue 11, item 6: without a transaction every statement commits on its own, so retrying is refused at start-up. */
    @ParameterizedTest
    @EnumSource(value = Propagation.class, names = { "SUPPORTS", "NOT_SUPPORTED", "NEVER" })
    void retryableTransactionalWithoutATransactionFailsStartUp(Propagation propagation) {
        Class<?> service = switch (propagation) {
            case SUPPORTS -> SupportsService.class;
            case NOT_SUPPORTED -> NotSupportedService.class;
            default -> NeverService.class;
        };
        this.contextRunner.withBean(service).run(context -> {
            assertThat(context).hasFailed();
            assertThat(messages(context.getStartupFailure())).contains("insertWithoutTransaction", propagation.name(),
                    "REQUIRED", "REQUIRES_NEW");
        });
    }

    /** Issue 11, item 6: the template refuses the same propagations. */
    @ParameterizedTest
    @EnumSource(value = Propagation.class, names = { "SUPPORTS", "NOT_SUPPORTED", "NEVER" })
    void retryingTemplateRefusesAPropagationWithoutATransaction(Propagation propagation) {
        this.contextRunner.run(context -> {
            RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
            assertThatIllegalArgumentException().isThrownBy(() -> template
                .with(new DefaultTransactionDefinition(propagation.value()), template.getRetrySettings(), false));
        });
    }

    /** Issue 11, item 12: the engine, not the classifier, keeps unknown outcomes from being retried. */
    @Test
    void classifierCallingEverythingTransientDoesNotGetAnUnknownCommitRetried() {
        this.contextRunner
            .withBean("everythingTransient", TransientFailureClassifier.class,
                    () -> failure -> FailureClassification.TRANSIENT)
            .run(context -> {
                RetryingTransactionTemplate template = context.getBean(RetryingTransactionTemplate.class);
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                AtomicInteger calls = new AtomicInteger();
                lostReply.loseNextCommitReply();
                Throwable thrown = catchThrowable(() -> template.executeWithoutResult(status -> {
                    calls.incrementAndGet();
                    jdbc.update("INSERT INTO boundary_rows VALUES ('classified')");
                    lostReply.armIfDue(jdbc.getDataSource());
                }));
                lostReply.awaitServerSideCommits();
                assertThat(rows("classified")).as("rows written by a non-idempotent template").isEqualTo(1);
                assertThat(calls).hasValue(1);
                assertThat(thrown).isInstanceOf(CommitOutcomeUnknownException.class);
            });
    }

    private static long rows(String id) {
        return server.queryLong("SELECT count(*) FROM boundary_rows WHERE id = '" + id + "'");
    }

    private static int attempts(String id) {
        return attempts.computeIfAbsent(id, key -> new AtomicInteger()).get();
    }

    /** Inserts a row, counts the attempt and, when the test asked for it, loses the commit's reply. */
    static void insert(JdbcTemplate jdbc, String id) {
        attempts.computeIfAbsent(id, key -> new AtomicInteger()).incrementAndGet();
        jdbc.update("INSERT INTO boundary_rows VALUES (?)", id);
        lostReply.armIfDue(jdbc.getDataSource());
    }

    static List<Throwable> causes(Throwable failure) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable current = failure; current != null && !chain.contains(current); current = current.getCause()) {
            chain.add(current);
        }
        return chain;
    }

    static String messages(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        causes(failure).forEach(cause -> messages.append(cause).append('\n'));
        return messages.toString();
    }

    @Configuration(proxyBeanMethods = false)
    static class Ledgers {

        @Bean
        Ledger idempotentLedger(JdbcTemplate jdbc) {
            return new IdempotentLedger(jdbc);
        }

        @Bean
        Ledger plainLedger(JdbcTemplate jdbc) {
            return new PlainLedger(jdbc);
        }

    }

    /** Its method is implemented by both ledgers, which ask for different retry settings. */
    interface Ledger {

        void record(String id);

    }

    @RetryableTransactional(idempotent = true)
    static class IdempotentLedger implements Ledger {

        private final JdbcTemplate jdbc;

        IdempotentLedger(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Override
        public void record(String id) {
            insert(this.jdbc, id);
        }

    }

    @RetryableTransactional
    static class PlainLedger implements Ledger {

        private final JdbcTemplate jdbc;

        PlainLedger(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Override
        public void record(String id) {
            insert(this.jdbc, id);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class Orders {

        @Bean
        AuditLog auditLog(JdbcTemplate jdbc) {
            return new AuditLog(jdbc);
        }

        @Bean
        OrderService orderService(JdbcTemplate jdbc, AuditLog auditLog) {
            return new OrderService(jdbc, auditLog);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class PlainDataSourceTransactionManager {

        @Bean
        DataSourceTransactionManager transactionManager(DataSource dataSource) {
            return new DataSourceTransactionManager(dataSource);
        }

    }

    static class OrderService {

        private final JdbcTemplate jdbc;

        private final AuditLog auditLog;

        OrderService(JdbcTemplate jdbc, AuditLog auditLog) {
            this.jdbc = jdbc;
            this.auditLog = auditLog;
        }

        @RetryableTransactional
        public void place(String id) {
            attempts.computeIfAbsent(id, key -> new AtomicInteger()).incrementAndGet();
            this.jdbc.update("INSERT INTO boundary_rows VALUES (?)", id);
            this.auditLog.record("audit:" + id);
        }

    }

    /** Commits on its own, inside the caller's unit of work. */
    static class AuditLog {

        private final JdbcTemplate jdbc;

        AuditLog(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @Transactional(propagation = Propagation.REQUIRES_NEW)
        public void record(String entry) {
            insert(this.jdbc, entry);
        }

    }

    static class SupportsService {

        @RetryableTransactional(propagation = Propagation.SUPPORTS)
        public void insertWithoutTransaction() {
        }

    }

    static class NotSupportedService {

        @RetryableTransactional(propagation = Propagation.NOT_SUPPORTED)
        public void insertWithoutTransaction() {
        }

    }

    static class NeverService {

        @RetryableTransactional(propagation = Propagation.NEVER)
        public void insertWithoutTransaction() {
        }

    }

}
