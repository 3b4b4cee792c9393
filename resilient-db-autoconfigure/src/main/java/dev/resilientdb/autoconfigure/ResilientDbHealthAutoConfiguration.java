package dev.resilientdb.autoconfigure;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.DatabaseHealthIndicator;
import dev.resilientdb.actuate.HealthCheckObserver;
import dev.resilientdb.pool.DatabaseProbe;
import dev.resilientdb.retry.RetryEngine;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.autoconfigure.jdbc.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.jdbc.DataSourceHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code db} health indicator that answers within
 * {@code resilient.db.health.timeout} even on an exhausted pool. It is named
 * {@code dbHealthContributor}, so Spring Boot's own {@code DataSourceHealthIndicator} backs off.
 */
@AutoConfiguration(after = { DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class },
        before = DataSourceHealthContributorAutoConfiguration.class)
@ConditionalOnClass({ HealthIndicator.class, HikariDataSource.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".health.enabled", matchIfMissing = true)
@ConditionalOnEnabledHealthIndicator("db")
@ConditionalOnSingleCandidate(DataSource.class)
@EnableConfigurationProperties(ResilientDbProperties.class)
public class ResilientDbHealthAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = { "dbHealthIndicator", "dbHealthContributor" })
    HealthIndicator dbHealthContributor(DataSource dataSource, ResilientDbProperties properties,
            ObjectProvider<HealthCheckObserver> observers, ObjectProvider<RetryEngine> engine) {
        HikariDataSource pool = HikariDataSources.unwrap(dataSource);
        if (pool == null) {
            return new DataSourceHealthIndicator(dataSource);
        }
        String applicationName = pool.getDataSourceProperties().getProperty("ApplicationName", "resilient-db") + "-health";
        DatabaseProbe probe = new DatabaseProbe(pool, properties.getHealth().getTimeout(), applicationName);
        HealthCheckObserver observer = observers.getIfAvailable(() -> (name, latency, up) -> {
        });
        return new DatabaseHealthIndicator(pool, probe, observer, () -> {
            RetryEngine retryEngine = engine.getIfAvailable();
            return (retryEngine != null) ? retryEngine.circuitBreakerState(dataSource) : null;
        });
    }

}
