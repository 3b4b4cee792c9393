package dev.resilientdb.autoconfigure;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.retry.FailureClassification;
import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetrySettings;
import dev.resilientdb.retry.RetryableTransactionalAdvisor;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.retry.SqlStateFailureClassifier;
import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.retry.TransientFailureClassifier;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.dao.CannotAcquireLockException;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Conditions of {@link ResilientDbRetryAutoConfiguration}, and how the engine ends at shutdown.
 * No database is needed: the pool is never used here.
 */
class ResilientDbRetryAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                AopAutoConfiguration.class, ResilientDbAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app");

    @Test
    void retryingTemplateStandsBesideSpringBootsOwnTransactionTemplate() {
        this.contextRunner.run(context -> {
            assertThat(context).hasSingleBean(TransactionTemplate.class)
                .hasSingleBean(RetryingTransactionTemplate.class)
                .hasSingleBean(RetryableTransactionalAdvisor.class)
                .hasSingleBean(RetryEngine.class);
            assertThat(context.getBean(TransactionTemplate.class).getClass()).isEqualTo(TransactionTemplate.class);
            assertThat(context).getBean("retryingTransactionTemplate").isInstanceOf(RetryingTransactionTemplate.class);
            assertThat(context.getBean(TransientFailureClassifier.class)).isInstanceOf(SqlStateFailureClassifier.class);
            RetrySettings settings = context.getBean(RetryingTransactionTemplate.class).getRetrySettings();
            assertThat(settings).isEqualTo(new RetrySettings(20, Duration.ofMillis(100), 2.0, Duration.ofSeconds(2),
                    Duration.ofMillis(400), 0.5, Duration.ofSeconds(10), 3));
        });
    }

    @Test
    void retryPropertiesShapeTheTemplateAndTheClassifier() {
        this.contextRunner
            .withPropertyValues("resilient.db.retry.max-attempts=3", "resilient.db.retry.initial-interval=20ms",
                    "resilient.db.retry.multiplier=1.5", "resilient.db.retry.max-interval=1s",
                    "resilient.db.retry.contention-max-interval=300ms",
                    "resilient.db.retry.jitter=0", "resilient.db.retry.deadline=4s",
                    "resilient.db.retry.optimistic-lock-max-attempts=5",
                    "resilient.db.retry.retryable-sql-states=55P03", "resilient.db.retry.non-retryable-sql-states=40P01")
            .run(context -> {
                assertThat(context.getBean(RetryingTransactionTemplate.class).getRetrySettings()).isEqualTo(
                        new RetrySettings(3, Duration.ofMillis(20), 1.5, Duration.ofSeconds(1), Duration.ofMillis(300), 0,
                                Duration.ofSeconds(4), 5));
                TransientFailureClassifier classifier = context.getBean(TransientFailureClassifier.class);
                assertThat(classifier.classify(new SQLException("x", "55P03"))).isEqualTo(FailureClassification.TRANSIENT);
                assertThat(classifier.classify(new SQLException("x", "40P01"))).isEqualTo(FailureClassification.NOT_TRANSIENT);
            });
    }

    @Test
    void userDefinedClassifierMakesAutoConfiguredOneBackOff() {
        this.contextRunner.withUserConfiguration(UserClassifierConfiguration.class).run(context -> {
            assertThat(context).hasSingleBean(TransientFailureClassifier.class);
            assertThat(context.getBean(RetryEngine.class).classifier()).isSameAs(context.getBean("userClassifier"));
        });
    }

    @Test
    void userDefinedRetryingTemplateMakesAutoConfiguredOneBackOff() {
        this.contextRunner.withUserConfiguration(UserTemplateConfiguration.class).run(context -> {
            assertThat(context).hasSingleBean(RetryingTransactionTemplate.class);
            assertThat(context.getBean(RetryingTransactionTemplate.class)).isSameAs(context.getBean("userTemplate"));
        });
    }

    @Test
    void retryDisabledLeavesSpringBootsTransactionTemplate() {
        this.contextRunner.withPropertyValues("resilient.db.retry.enabled=false").run(context -> {
            assertThat(context).hasSingleBean(TransactionTemplate.class)
                .doesNotHaveBean(RetryingTransactionTemplate.class)
                .doesNotHaveBean(RetryableTransactionalAdvisor.class);
        });
    }

    @Test
    void starterDisabledLeavesSpringBootsTransactionTemplate() {
        this.contextRunner.withPropertyValues("resilient.db.enabled=false").run(context -> assertThat(context)
            .hasSingleBean(TransactionTemplate.class).doesNotHaveBean(RetryingTransactionTemplate.class));
    }

    @Test
    void withoutSpringRetryTheRetryBacksOff() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(RetryTemplate.class)).run(context -> assertThat(context)
            .hasNotFailed().hasSingleBean(TransactionTemplate.class).doesNotHaveBean(RetryingTransactionTemplate.class));
    }

    @Test
    void retryCountersExistFromStartWithTheirBaseUnitlessNames() {
        this.contextRunner.withBean(SimpleMeterRegistry.class).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            context.getBean(RetryMetrics.class).bindTo(registry);
            assertThat(registry.get("resilientdb.retry.attempts").tag("sqlstate.class", "none").counter().count()).isZero();
            assertThat(registry.find("resilientdb.retry.successes").counter()).isNotNull();
            assertThat(registry.find("resilientdb.retry.exhausted").counter()).isNotNull();
            assertThat(registry.find("resilientdb.commit.unknown").counter()).isNotNull();
            context.getBean(RetryMetrics.class).onRetry(1, new SQLException("x", "40001"), Duration.ZERO);
            assertThat(registry.get("resilientdb.retry.attempts").tag("sqlstate.class", "40").counter().count()).isEqualTo(1);
        });
    }

    @Test
    void retryAdviceIsOrderedJustOutsideTheTransactionAdviceUnlessThePropertySaysOtherwise() {
        this.contextRunner.run(context -> assertThat(context.getBean(RetryableTransactionalAdvisor.class).getOrder())
            .isEqualTo(Ordered.LOWEST_PRECEDENCE - 1));
        this.contextRunner.withPropertyValues("resilient.db.retry.order=5")
            .run(context -> assertThat(context.getBean(RetryableTransactionalAdvisor.class).getOrder()).isEqualTo(5));
    }

    @Test
    void closingTheApplicationEndsARetryWaitingInBackOff() {
        this.contextRunner.withPropertyValues("resilient.db.retry.initial-interval=30s", "resilient.db.retry.max-interval=30s",
                "resilient.db.retry.contention-max-interval=30s", "resilient.db.retry.deadline=2m", "resilient.db.retry.jitter=0")
            .withBean(BackOffStarted.class)
            .run(context -> {
                RetryEngine engine = context.getBean(RetryEngine.class);
                RetrySettings settings = context.getBean(RetryingTransactionTemplate.class).getRetrySettings();
                CannotAcquireLockException transientFailure = new CannotAcquireLockException("busy",
                        new SQLException("deadlock detected", "40P01"));
                PlatformTransactionManager transactionManager = context.getBean(PlatformTransactionManager.class);
                CompletableFuture<Object> call = CompletableFuture.supplyAsync(() -> {
                    try {
                        return engine.execute(transactionManager, new DefaultTransactionDefinition(), settings, false,
                                () -> {
                                    throw transientFailure;
                                });
                    }
                    catch (Throwable ex) {
                        throw (ex instanceof RuntimeException runtime) ? runtime : new IllegalStateException(ex);
                    }
                });
                assertThat(context.getBean(BackOffStarted.class).started.await(10, TimeUnit.SECONDS)).isTrue();
                long closing = System.nanoTime();
                ((ConfigurableApplicationContext) context.getSourceApplicationContext()).close();
                assertThatExceptionOfType(Exception.class).isThrownBy(() -> call.get(5, TimeUnit.SECONDS))
                    .havingCause()
                    .isSameAs(transientFailure);
                assertThat(Duration.ofNanos(System.nanoTime() - closing)).isLessThan(Duration.ofSeconds(5));
            });
    }

    static class BackOffStarted implements TransactionRetryListener {

        final CountDownLatch started = new CountDownLatch(1);

        @Override
        public void onRetry(int attempt, Throwable failure, Duration delay) {
            this.started.countDown();
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class UserClassifierConfiguration {

        @Bean
        TransientFailureClassifier userClassifier() {
            return failure -> FailureClassification.NOT_TRANSIENT;
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class UserTemplateConfiguration {

        @Bean
        RetryingTransactionTemplate userTemplate(PlatformTransactionManager transactionManager, RetryEngine engine) {
            return new RetryingTransactionTemplate(transactionManager, engine,
                    new RetrySettings(2, Duration.ofMillis(10), 1.0, Duration.ofMillis(10), Duration.ofMillis(10), 0,
                            Duration.ofSeconds(1)));
        }

    }

}
