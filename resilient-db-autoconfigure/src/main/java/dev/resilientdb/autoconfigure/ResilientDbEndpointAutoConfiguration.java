package dev.resilientdb.autoconfigure;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.DatabasePoolEndpoint;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code dbpool} actuator endpoint. Available when the application
 * exposes it ({@code management.endpoints.web.exposure.include=dbpool}); Spring Boot exposes only
 * {@code health} over HTTP by default.
 */
@AutoConfiguration(after = { DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class })
@ConditionalOnClass({ Endpoint.class, HikariDataSource.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnAvailableEndpoint(DatabasePoolEndpoint.class)
@ConditionalOnSingleCandidate(DataSource.class)
public class ResilientDbEndpointAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    DatabasePoolEndpoint databasePoolEndpoint(DataSource dataSource) {
        HikariDataSource pool = HikariDataSources.unwrap(dataSource);
        if (pool == null) {
            throw new IllegalStateException("The dbpool endpoint needs a HikariCP DataSource; "
                    + "exclude it with management.endpoint.dbpool.enabled=false");
        }
        return new DatabasePoolEndpoint(pool);
    }

}
