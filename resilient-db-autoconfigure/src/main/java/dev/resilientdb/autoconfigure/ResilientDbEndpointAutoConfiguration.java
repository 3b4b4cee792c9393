package dev.resilientdb.autoconfigure;

import java.util.LinkedHashMap;
import java.util.Map;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.DatabasePoolEndpoint;
import dev.resilientdb.retry.RetryEngine;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Auto-configuration of the actuator endpoints' side of resilient-db: the {@code dbpool} endpoint,
 * available when the application exposes it ({@code management.endpoints.web.exposure.include=dbpool};
 * Spring Boot exposes only {@code health} over HTTP by default), and a sanitising function that keeps
 * database credentials out of {@code env} and {@code configprops} even when they show values.
 */
@AutoConfiguration(after = { DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class })
@ConditionalOnClass(Endpoint.class)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
public class ResilientDbEndpointAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "resilientDbCredentialsSanitizer")
    SanitizingFunction resilientDbCredentialsSanitizer(Environment environment) {
        return new DatabaseCredentialsSanitizingFunction(environment);
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HikariDataSource.class)
    @ConditionalOnAvailableEndpoint(DatabasePoolEndpoint.class)
    @ConditionalOnBean(DataSource.class)
    static class DatabasePoolEndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        DatabasePoolEndpoint databasePoolEndpoint(Map<String, DataSource> dataSources, ObjectProvider<RetryEngine> engine) {
            Map<String, HikariDataSource> pools = new LinkedHashMap<>();
            dataSources.forEach((name, dataSource) -> {
                HikariDataSource pool = HikariDataSources.unwrap(dataSource);
                if (pool != null) {
                    pools.put(name, pool);
                }
            });
            if (pools.isEmpty()) {
                throw new IllegalStateException("The dbpool endpoint needs a HikariCP DataSource; "
                        + "turn it off with management.endpoint.dbpool.access=none");
            }
            return new DatabasePoolEndpoint(pools, pool -> {
                RetryEngine retryEngine = engine.getIfAvailable();
                return (retryEngine != null) ? retryEngine.databaseState(pool) : null;
            });
        }

    }

}
