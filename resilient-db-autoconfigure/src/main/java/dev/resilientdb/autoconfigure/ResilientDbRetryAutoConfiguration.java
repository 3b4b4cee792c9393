package dev.resilientdb.autoconfigure;

import dev.resilientdb.retry.DatabaseCircuitBreaker;
import dev.resilientdb.retry.RetryBudget;
import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetrySettings;
import dev.resilientdb.retry.RetryableTransactionalAdvisor;
import dev.resilientdb.retry.RetryableTransactionalInterceptor;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.retry.SqlStateFailureClassifier;
import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.retry.TransientFailureClassifier;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.jdbc.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.autoconfigure.transaction.TransactionAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;
import org.springframework.retry.support.RetryTemplate;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * Auto-configuration of transaction retries: the failure classifier, the retry engine, the
 * retrying {@code TransactionTemplate} bean (Spring Boot's own backs off) and the
 * {@code @RetryableTransactional} advice, ordered outside the transaction advice.
 */
@AutoConfiguration(after = DataSourceTransactionManagerAutoConfiguration.class,
        afterName = "org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration",
        before = TransactionAutoConfiguration.class)
@ConditionalOnClass({ RetryTemplate.class, PlatformTransactionManager.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".retry.enabled", matchIfMissing = true)
@EnableConfigurationProperties(ResilientDbProperties.class)
public class ResilientDbRetryAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    TransientFailureClassifier resilientDbFailureClassifier(ResilientDbProperties properties) {
        ResilientDbProperties.Retry retry = properties.getRetry();
        return new SqlStateFailureClassifier(retry.getRetryableSqlStates(), retry.getNonRetryableSqlStates());
    }

    @Bean
    @ConditionalOnMissingBean
    RetryEngine resilientDbRetryEngine(TransientFailureClassifier classifier,
            ObjectProvider<TransactionRetryListener> listeners, ResilientDbProperties properties) {
        ResilientDbProperties.CircuitBreaker breaker = properties.getCircuitBreaker();
        DatabaseCircuitBreaker circuitBreaker = breaker.isEnabled()
                ? new DatabaseCircuitBreaker(breaker.getFailureRateThreshold(), breaker.getSlidingWindow(),
                        breaker.getMinimumCalls(), breaker.getWaitInOpenState(), breaker.getTrialCalls())
                : DatabaseCircuitBreaker.disabled();
        ResilientDbProperties.Budget budget = properties.getRetry().getBudget();
        RetryBudget retryBudget = budget.isEnabled() ? new RetryBudget(budget.getRatio(), budget.getMinRetriesPerSecond())
                : RetryBudget.unlimited();
        return new RetryEngine(classifier, listeners.orderedStream().toList(), circuitBreaker, retryBudget);
    }

    @Bean
    RetryEngineShutdown resilientDbRetryEngineShutdown(RetryEngine engine) {
        return new RetryEngineShutdown(engine);
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnSingleCandidate(PlatformTransactionManager.class)
    RetryingTransactionTemplate transactionTemplate(PlatformTransactionManager transactionManager, RetryEngine engine,
            ResilientDbProperties properties) {
        ResilientDbProperties.Retry retry = properties.getRetry();
        return new RetryingTransactionTemplate(transactionManager, engine, new RetrySettings(retry.getMaxAttempts(),
                retry.getInitialInterval(), retry.getMultiplier(), retry.getMaxInterval(), retry.getJitter(),
                retry.getDeadline()));
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static RetryableTransactionalAdvisor resilientDbRetryableTransactionalAdvisor(
            ObjectProvider<RetryingTransactionTemplate> template, ObjectProvider<ResilientDbProperties> properties,
            BeanFactory beanFactory) {
        RetryableTransactionalInterceptor interceptor = new RetryableTransactionalInterceptor(template::getObject, beanFactory);
        return new RetryableTransactionalAdvisor(interceptor, properties.getObject().getRetry().getOrder());
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    static class RetryMetricsConfiguration {

        @Bean
        @ConditionalOnMissingBean
        RetryMetrics resilientDbRetryMetrics(ObjectProvider<MeterRegistry> registries, ObjectProvider<RetryEngine> engine) {
            return new RetryMetrics(registries, engine);
        }

    }

}
