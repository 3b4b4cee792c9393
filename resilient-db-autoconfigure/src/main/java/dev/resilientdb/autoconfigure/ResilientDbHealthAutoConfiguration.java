package dev.resilientdb.autoconfigure;

import java.util.LinkedHashMap;
import java.util.Map;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.DatabaseHealthIndicator;
import dev.resilientdb.actuate.DatabaseHealthIndicators;
import dev.resilientdb.actuate.HealthCheckObserver;
import dev.resilientdb.pool.DatabaseProbe;
import dev.resilientdb.pool.PoolerMode;
import dev.resilientdb.retry.RetryEngine;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.jdbc.autoconfigure.health.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.jdbc.health.DataSourceHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code db} health contributor that answers within
 * {@code resilient.db.health.timeout} even on an exhausted pool. It is named
 * {@code dbHealthContributor}, so Spring Boot's own, which borrows a pool connection, backs off. With
 * several DataSources, {@code db} has one member per DataSource bean, named after the bean, as Spring
 * Boot's has; a DataSource that is not HikariCP gets Spring Boot's {@code DataSourceHealthIndicator}.
 */
@AutoConfiguration(after = { DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class },
        before = DataSourceHealthContributorAutoConfiguration.class)
@ConditionalOnClass({ HealthIndicator.class, HikariDataSource.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".health.enabled", matchIfMissing = true)
@ConditionalOnEnabledHealthIndicator("db")
@ConditionalOnBean(DataSource.class)
@EnableConfigurationProperties(ResilientDbProperties.class)
public class ResilientDbHealthAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = { "dbHealthIndicator", "dbHealthContributor" })
    HealthContributor dbHealthContributor(Map<String, DataSource> dataSources, ResilientDbProperties properties,
            ObjectProvider<HealthCheckObserver> observers, ObjectProvider<RetryEngine> engine) {
        HealthCheckObserver observer = observers.getIfAvailable(() -> (name, latency, up) -> {
        });
        Map<String, HealthIndicator> indicators = new LinkedHashMap<>();
        dataSources.forEach((name, dataSource) -> indicators.put(name,
                indicator(dataSource, properties, observer, engine)));
        return (indicators.size() == 1) ? indicators.values().iterator().next() : new DatabaseHealthIndicators(indicators);
    }

    private static HealthIndicator indicator(DataSource dataSource, ResilientDbProperties properties,
            HealthCheckObserver observer, ObjectProvider<RetryEngine> engine) {
        HikariDataSource pool = HikariDataSources.unwrap(dataSource);
        if (pool == null) {
            return new DataSourceHealthIndicator(dataSource);
        }
        String applicationName = pool.getDataSourceProperties().getProperty("ApplicationName", "resilient-db") + "-health";
        DatabaseProbe probe = new DatabaseProbe(pool, properties.getHealth().getTimeout(), applicationName,
                PoolerMode.valueOf(properties.getDriver().getPooler().name()));
        return new DatabaseHealthIndicator(pool, probe, observer, () -> {
            RetryEngine retryEngine = engine.getIfAvailable();
            return (retryEngine != null) ? retryEngine.circuitBreakerState(dataSource) : null;
        }, () -> {
            RetryEngine retryEngine = engine.getIfAvailable();
            return (retryEngine != null) ? retryEngine.databaseState(dataSource) : null;
        });
    }

}
