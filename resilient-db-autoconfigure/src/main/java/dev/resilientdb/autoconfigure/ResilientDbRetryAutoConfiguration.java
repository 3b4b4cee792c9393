package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.DatabaseProbe;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.pool.PoolerMode;
import dev.resilientdb.pool.ServerWaitingDataSource;
import dev.resilientdb.retry.CommitOutcomeResolver;
import dev.resilientdb.retry.DatabaseCircuitBreaker;
import dev.resilientdb.retry.DatabaseCircuitBreakers;
import dev.resilientdb.retry.RetryBudget;
import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetryObservationConvention;
import dev.resilientdb.retry.RetrySettings;
import dev.resilientdb.retry.RetryableTransactionalAdvisor;
import dev.resilientdb.retry.RetryableTransactionalResults;
import dev.resilientdb.retry.RetryableTransactionalInterceptor;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.retry.SqlStateFailureClassifier;
import dev.resilientdb.retry.TransactionManagersObservingPostProcessor;
import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.retry.TransientFailureClassifier;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.util.ClassUtils;

/**
 * Auto-configuration of transaction retries: the failure classifier, the retry engine, the
 * {@code RetryingTransactionTemplate} bean (beside Spring Boot's own {@code TransactionTemplate},
 * which it leaves alone) and the {@code @RetryableTransactional} retry advice, ordered outside
 * Spring's transaction advice.
 */
@AutoConfiguration(after = { DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class },
        afterName = "org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration")
@ConditionalOnClass({ RetryTemplate.class, PlatformTransactionManager.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".retry.enabled", matchIfMissing = true)
@EnableConfigurationProperties(ResilientDbProperties.class)
public class ResilientDbRetryAutoConfiguration {

    private static final boolean HIKARI_PRESENT = ClassUtils.isPresent("com.zaxxer.hikari.HikariDataSource", null);

    @Bean
    @ConditionalOnMissingBean
    TransientFailureClassifier resilientDbFailureClassifier(ResilientDbProperties properties) {
        ResilientDbProperties.Retry retry = properties.getRetry();
        return new SqlStateFailureClassifier(retry.getRetryableSqlStates(), retry.getNonRetryableSqlStates());
    }

    @Bean
    @ConditionalOnMissingBean
    RetrySettings resilientDbRetrySettings(ResilientDbProperties properties) {
        ResilientDbProperties.Retry retry = properties.getRetry();
        return new RetrySettings(retry.getMaxAttempts(), retry.getInitialInterval(), retry.getMultiplier(),
                retry.getMaxInterval(), retry.getContentionMaxInterval(), retry.getJitter(), retry.getDeadline(),
                retry.getOptimisticLockMaxAttempts());
    }

    @Bean
    @ConditionalOnMissingBean
    RetryEngine resilientDbRetryEngine(TransientFailureClassifier classifier,
            ObjectProvider<TransactionRetryListener> listeners, ResilientDbProperties properties,
            ObjectProvider<DataSource> dataSource, ObjectProvider<ObservationRegistry> observationRegistry,
            ObjectProvider<RetryObservationConvention> observationConvention) {
        ResilientDbProperties.CircuitBreaker breaker = properties.getCircuitBreaker();
        DatabaseCircuitBreakers circuitBreakers = breaker.isEnabled()
                ? new DatabaseCircuitBreakers(pool -> circuitBreaker(breaker, properties, pool), dataSource.getIfUnique(),
                        ResilientDbRetryAutoConfiguration::poolOf)
                : DatabaseCircuitBreakers.single(DatabaseCircuitBreaker.disabled());
        ResilientDbProperties.Budget budget = properties.getRetry().getBudget();
        RetryBudget retryBudget = budget.isEnabled() ? new RetryBudget(budget.getRatio(), budget.getMinRetriesPerSecond())
                : RetryBudget.unlimited();
        RetryEngine engine = new RetryEngine(new FrameworkRetryLoop(), classifier, listeners.orderedStream().toList(),
                circuitBreakers, retryBudget, commitOutcomeResolvers(properties));
        observationRegistry.ifAvailable(engine::setObservationRegistry);
        observationConvention.ifAvailable(engine::setObservationConvention);
        return engine;
    }

    /**
     * One resolver per pool, asking again at the breaker's probe interval; behind PgBouncer in
     * transaction mode, what identifies the server is read for every transaction.
     */
    private static Function<DataSource, CommitOutcomeResolver> commitOutcomeResolvers(ResilientDbProperties properties) {
        if (!properties.getRetry().isResolveCommitOutcome()) {
            return dataSource -> null;
        }
        Duration askInterval = properties.getCircuitBreaker().getProbeInterval();
        boolean connectionsKeepTheirServer = PoolerMode.valueOf(properties.getDriver().getPooler().name())
                != PoolerMode.PGBOUNCER_TRANSACTION;
        Map<DataSource, CommitOutcomeResolver> resolvers = new ConcurrentHashMap<>();
        return dataSource -> resolvers.computeIfAbsent(poolOf(dataSource),
                pool -> new CommitOutcomeResolver(pool, poolName(pool), askInterval, connectionsKeepTheirServer));
    }

    private static String poolName(DataSource pool) {
        return (HIKARI_PRESENT && pool instanceof HikariDataSource hikari) ? String.valueOf(hikari.getPoolName())
                : "dataSource";
    }

    /**
     * The HikariCP pool a DataSource wraps (a {@code LazyConnectionDataSourceProxy}, a tracing proxy),
     * else the DataSource: one breaker per pool, since each saves and restores the pool's minimum-idle.
     */
    private static DataSource poolOf(DataSource dataSource) {
        HikariDataSource pool = HIKARI_PRESENT ? HikariDataSources.unwrap(dataSource) : null;
        return (pool != null) ? pool : dataSource;
    }

    /**
     * With a HikariCP pool, the breaker fails calls fast from the pool's {@link DatabaseState}, which
     * probes the database outside the pool, and lets the pool stop refilling while calls fail fast:
     * HikariCP backs its refill attempts off to 5 s, which would otherwise delay recovery by up to 5 s
     * after the database is back. The pool's configured minimum-idle is restored when the database
     * answers again.
     */
    private static DatabaseCircuitBreaker circuitBreaker(ResilientDbProperties.CircuitBreaker settings,
            ResilientDbProperties properties, DataSource dataSource) {
        HikariDataSource pool = (HIKARI_PRESENT && dataSource != null) ? HikariDataSources.unwrap(dataSource) : null;
        if (pool == null) {
            return new DatabaseCircuitBreaker(settings.getFailureRateThreshold(), settings.getSlidingWindow(),
                    settings.getMinimumCalls(), settings.getWaitInOpenState(), settings.getTrialCalls());
        }
        DatabaseProbe probe = new DatabaseProbe(pool, properties.getHealth().getTimeout(),
                pool.getDataSourceProperties().getProperty("ApplicationName", "resilient-db") + "-state",
                PoolerMode.valueOf(properties.getDriver().getPooler().name()));
        Duration openAfter = (settings.getOpenAfter() != null) ? settings.getOpenAfter() : properties.getRetry().getDeadline();
        DatabaseState state = new DatabaseState(String.valueOf(pool.getPoolName()), probe, settings.getProbeInterval(),
                openAfter);
        ServerWaitingDataSource connections = ServerWaitingDataSource.of(pool);
        if (connections != null) {
            connections.follow(state);
        }
        DatabaseCircuitBreaker circuitBreaker = new DatabaseCircuitBreaker(state, settings.getWaitInOpenState());
        AtomicInteger savedMinimumIdle = new AtomicInteger(-1);
        circuitBreaker.onStateChange(breakerState -> {
            if ("open".equals(breakerState)) {
                savedMinimumIdle.compareAndSet(-1, pool.getMinimumIdle());
                pool.getHikariConfigMXBean().setMinimumIdle(0);
            }
            else if ("closed".equals(breakerState)) {
                int minimumIdle = savedMinimumIdle.getAndSet(-1);
                if (minimumIdle >= 0) {
                    pool.getHikariConfigMXBean().setMinimumIdle(minimumIdle);
                }
            }
        });
        return circuitBreaker;
    }

    @Bean
    RetryEngineShutdown resilientDbRetryEngineShutdown(RetryEngine engine) {
        return new RetryEngineShutdown(engine);
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnSingleCandidate(PlatformTransactionManager.class)
    RetryingTransactionTemplate retryingTransactionTemplate(PlatformTransactionManager transactionManager,
            RetryEngine engine, RetrySettings settings) {
        return new RetryingTransactionTemplate(transactionManager, engine, settings);
    }

    @Bean
    static TransactionManagersObservingPostProcessor resilientDbTransactionManagersObservingPostProcessor() {
        return new TransactionManagersObservingPostProcessor();
    }

    /**
     * The advisor is created while the bean post-processors are still being registered (the
     * auto-proxy creator looks for advisors as soon as it is registered), so it reads its order from
     * the {@link Environment} rather than from the {@link ResilientDbProperties} bean, which would
     * then be created too early for post-processing (and Spring would say so in a WARN at every start).
     */
    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static RetryableTransactionalAdvisor resilientDbRetryableTransactionalAdvisor(ObjectProvider<RetryEngine> engine,
            ObjectProvider<RetrySettings> settings, Environment environment, ListableBeanFactory beanFactory) {
        int order = Binder.get(environment)
            .bind(ResilientDbProperties.PREFIX + ".retry.order", Integer.class)
            .orElseGet(() -> new ResilientDbProperties.Retry().getOrder());
        return new RetryableTransactionalAdvisor(
                new RetryableTransactionalInterceptor(beanFactory, engine::getObject, settings::getObject, order));
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static RetryableTransactionalResults resilientDbRetryableTransactionalResults(
            RetryableTransactionalAdvisor retryAdvisor) {
        return new RetryableTransactionalResults(retryAdvisor);
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
