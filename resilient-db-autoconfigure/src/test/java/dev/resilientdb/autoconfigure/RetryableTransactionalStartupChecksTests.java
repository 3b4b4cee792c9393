package dev.resilientdb.autoconfigure;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.retry.RetryableTransactional;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.transaction.annotation.Isolation;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Configurations in which {@code @RetryableTransactional} cannot keep its promise fail at start-up,
 * named by the failure analysis with a fix, on a real PostgreSQL server: no transaction advice,
 * a retry advice that is not outside the transaction advice, a plain {@code @Transactional} with
 * other attributes on the same method, a non-transactional propagation on any method of a JDK
 * proxy, and return types whose work finishes after the method returns.
 */
class RetryableTransactionalStartupChecksTests {

    private static final PostgresServer server = PostgresServers.shared();

    private static final AtomicInteger calls = new AtomicInteger();

    private final ApplicationContextRunner contextRunner = application(TransactionAutoConfiguration.class);

    @BeforeEach
    void createTable() {
        server.execute("DROP TABLE IF EXISTS startup_check_rows");
        server.execute("CREATE TABLE startup_check_rows (id text NOT NULL)");
        server.execute("GRANT ALL ON startup_check_rows TO " + PostgresServer.APP_USER);
        calls.set(0);
    }

    @Test
    void withoutSpringsTransactionAdviceStartupFails() {
        application().withUserConfiguration(InsertingService.class)
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(analysis(context).getDescription()).contains("InsertingService.insertFailingOnce")
                    .contains("no Spring transaction advice");
                assertThat(analysis(context).getAction()).contains("@EnableTransactionManagement");
            });
    }

    @Test
    void withoutSpringsTransactionAdviceAnApplicationThatDoesNotRetryStarts() {
        application().withBean(PlainService.class).run(context -> {
            assertThat(context).hasNotFailed();
            context.getBean(PlainService.class).insert("plain");
            assertThat(rows("plain")).isEqualTo(1);
        });
    }

    @Test
    void retryAdviceInsideTheTransactionAdviceFailsStartup() {
        this.contextRunner.withUserConfiguration(InsertingService.class, TransactionAdviceOrderedFirst.class)
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(analysis(context).getDescription()).contains("order 2147483646")
                    .contains("transaction advice (order 0)");
                assertThat(analysis(context).getAction()).contains("resilient.db.retry.order");
            });
    }

    @Test
    void retryAdviceOrderedJustOutsideTheTransactionAdviceStarts() {
        this.contextRunner.withUserConfiguration(InsertingService.class, TransactionAdviceOrderedFirst.class)
            .withPropertyValues("resilient.db.retry.order=-1")
            .run(context -> {
                assertThat(context).hasNotFailed();
                context.getBean(InsertingService.class).insertFailingOnce("ordered");
                assertThat(calls.get()).isEqualTo(2);
                assertThat(rows("ordered")).isEqualTo(1);
            });
    }

    @Test
    void transactionalWithOtherAttributesBesideRetryableTransactionalFailsStartup() {
        this.contextRunner.withUserConfiguration(BothAnnotations.class).run(context -> {
            assertThat(context).hasFailed();
            assertThat(analysis(context).getDescription()).contains("BothAnnotations.isolation")
                .contains("ISOLATION_SERIALIZABLE");
            assertThat(analysis(context).getAction()).contains("Remove @Transactional");
        });
    }

    @Test
    void nonTransactionalPropagationOnASecondMethodOfAJdkProxyFailsStartup() {
        this.contextRunner.withUserConfiguration(JdkProxiedService.class)
            .withPropertyValues("spring.aop.proxy-target-class=false")
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(analysis(context).getDescription()).contains("JdkProxiedServiceImpl.supports")
                    .contains("SUPPORTS");
            });
    }

    @Test
    void completableFutureReturnTypeFailsStartup() {
        this.contextRunner.withUserConfiguration(FutureService.class).run(context -> {
            assertThat(context).hasFailed();
            assertThat(analysis(context).getDescription()).contains("FutureService.later")
                .contains("CompletableFuture");
        });
    }

    @Test
    void publisherReturnTypeFailsStartup() {
        this.contextRunner.withUserConfiguration(PublisherService.class).run(context -> {
            assertThat(context).hasFailed();
            assertThat(analysis(context).getDescription()).contains("PublisherService.rows")
                .contains("Flow$Publisher");
        });
    }

    /** The starter's application, with Spring Boot's transaction auto-configuration or without it. */
    private static ApplicationContextRunner application(Class<?>... transactionAutoConfiguration) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                    DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                    AopAutoConfiguration.class, ResilientDbAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class))
            .withConfiguration(AutoConfigurations.of(transactionAutoConfiguration))
            .withPropertyValues("spring.datasource.url=" + server.jdbcUrl(), "spring.datasource.username=" + server.username(),
                    "spring.datasource.password=" + server.password(),
                    "resilient.db.driver.application-name=startup-checks-it", "resilient.db.retry.initial-interval=50ms");
    }

    private static FailureAnalysis analysis(AssertableApplicationContext context) {
        FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
        assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
        return analysis;
    }

    private static long rows(String id) {
        return server.queryLong("SELECT count(*) FROM startup_check_rows WHERE id = '" + id + "'");
    }

    @Configuration(proxyBeanMethods = false)
    @EnableTransactionManagement(order = 0)
    static class TransactionAdviceOrderedFirst {

    }

    @Configuration(proxyBeanMethods = false)
    static class InsertingService {

        private final JdbcTemplate jdbc;

        InsertingService(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        /** Inserts a row, then fails transiently in the first attempt. */
        @RetryableTransactional
        public void insertFailingOnce(String id) {
            this.jdbc.update("INSERT INTO startup_check_rows VALUES (?)", id);
            if (calls.incrementAndGet() == 1) {
                throw new TransientDataAccessResourceException("attempt 1 fails after its insert");
            }
        }

    }

    /** Nothing retried: it needs no transaction advice. */
    static class PlainService {

        private final JdbcTemplate jdbc;

        PlainService(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        public void insert(String id) {
            this.jdbc.update("INSERT INTO startup_check_rows VALUES (?)", id);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class BothAnnotations {

        @Transactional
        @RetryableTransactional(isolation = Isolation.SERIALIZABLE)
        public void isolation() {
        }

    }

    interface JdkProxied {

        void required();

        void supports();

    }

    static class JdkProxiedServiceImpl implements JdkProxied {

        @Override
        @RetryableTransactional
        public void required() {
        }

        @Override
        @RetryableTransactional(propagation = Propagation.SUPPORTS)
        public void supports() {
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class JdkProxiedService {

        @Bean
        JdkProxied jdkProxied() {
            return new JdkProxiedServiceImpl();
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class FutureService {

        @RetryableTransactional
        public CompletableFuture<Void> later() {
            return CompletableFuture.completedFuture(null);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class PublisherService {

        @RetryableTransactional
        public Flow.Publisher<String> rows() {
            return subscriber -> {
            };
        }

    }

}
