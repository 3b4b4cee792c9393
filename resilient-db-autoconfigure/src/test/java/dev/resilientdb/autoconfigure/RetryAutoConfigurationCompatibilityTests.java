package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetrySettings;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionOperations;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Adding the starter changes nothing in existing code beyond pool settings: Spring Boot's
 * {@code TransactionTemplate} stays a plain one, a user's own template beans keep working, and
 * retrying is asked for per use (the annotation, or {@link RetryingTransactionTemplate} injected by
 * its own type). On a real PostgreSQL, so that "does not retry" is shown with a real failure.
 */
class RetryAutoConfigurationCompatibilityTests {

    private static final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                TransactionAutoConfiguration.class, AopAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                ResilientDbRetryAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + server.jdbcUrl(), "spring.datasource.username=" + server.username(),
                "spring.datasource.password=" + server.password(), "resilient.db.driver.application-name=compatibility-it",
                "resilient.db.retry.initial-interval=50ms", "resilient.db.retry.max-interval=500ms");

    /** Issue 11, item 11: a callback written for a plain template runs once, as before the starter. */
    @Test
    void springBootsTransactionTemplateStaysPlainAndDoesNotRetry() {
        this.contextRunner.run(context -> {
            TransactionTemplate transactionTemplate = context.getBean(TransactionTemplate.class);
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            AtomicInteger calls = new AtomicInteger();
            Throwable thrown = catchThrowable(() -> transactionTemplate.executeWithoutResult(status -> {
                if (calls.incrementAndGet() == 1) {
                    server.terminateBackend(jdbc.queryForObject("SELECT pg_backend_pid()", Integer.class));
                }
                jdbc.queryForObject("SELECT 1", Integer.class);
            }));
            assertThat(calls).as("runs of a callback given to the application's TransactionTemplate").hasValue(1);
            assertThat(thrown).as("the failure of the terminated backend").isNotNull();
            assertThat(transactionTemplate).isExactlyInstanceOf(TransactionTemplate.class);
            assertThat(context.getBean(TransactionOperations.class)).isSameAs(transactionTemplate);
            assertThat(context.getBeanNamesForType(RetryingTransactionTemplate.class))
                .containsExactly("retryingTransactionTemplate");
        });
    }

    /** Issue 11, item 11: a user's bean named transactionTemplate starts, and is the one injected. */
    @Test
    void userTemplateNamedTransactionTemplateIsKeptAndInjected() {
        this.contextRunner.withUserConfiguration(UserTemplateNamedTransactionTemplate.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(TransactionTemplate.class)).isSameAs(context.getBean("transactionTemplate"))
                .isExactlyInstanceOf(TransactionTemplate.class);
            assertThat(context).hasSingleBean(RetryingTransactionTemplate.class);
        });
    }

    /** Issue 11, item 11: a user's template with another name leaves injection by type unambiguous. */
    @Test
    void userTemplateWithAnotherNameIsTheTransactionTemplateInjected() {
        this.contextRunner.withUserConfiguration(UserTemplateWithAnotherName.class).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(TransactionTemplate.class);
            assertThat(context.getBean(TransactionTemplate.class)).isSameAs(context.getBean("ordersTransactionTemplate"));
            assertThat(context).hasSingleBean(RetryingTransactionTemplate.class);
        });
    }

    /** Issue 11, item 11: a user's retrying template replaces ours, and replaces nothing of Spring Boot's. */
    @Test
    void userRetryingTemplateMakesOursBackOffAndLeavesSpringBootsTemplate() {
        this.contextRunner.withUserConfiguration(UserRetryingTemplate.class).run(context -> {
            assertThat(context).hasSingleBean(RetryingTransactionTemplate.class);
            assertThat(context.getBean(RetryingTransactionTemplate.class)).isSameAs(context.getBean("userRetryingTemplate"));
            assertThat(context).hasSingleBean(TransactionTemplate.class);
            assertThat(context.getBean(TransactionTemplate.class)).isExactlyInstanceOf(TransactionTemplate.class);
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserTemplateNamedTransactionTemplate {

        @Bean
        TransactionTemplate transactionTemplate(PlatformTransactionManager transactionManager) {
            return new TransactionTemplate(transactionManager);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class UserTemplateWithAnotherName {

        @Bean
        TransactionTemplate ordersTransactionTemplate(PlatformTransactionManager transactionManager) {
            return new TransactionTemplate(transactionManager);
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class UserRetryingTemplate {

        @Bean
        RetryingTransactionTemplate userRetryingTemplate(PlatformTransactionManager transactionManager, RetryEngine engine) {
            return new RetryingTransactionTemplate(transactionManager, engine, new RetrySettings(2, Duration.ofMillis(10), 1.0,
                    Duration.ofMillis(10), Duration.ofMillis(10), 0, Duration.ofSeconds(1)));
        }

    }

}
