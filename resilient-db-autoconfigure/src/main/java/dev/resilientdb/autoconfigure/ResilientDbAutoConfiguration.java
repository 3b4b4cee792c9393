package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.PoolSaturationMonitor;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Auto-configuration of the connection pool: production settings for HikariCP and the PostgreSQL
 * driver from {@code resilient.db.*}. {@code resilient.db.enabled=false} turns off resilient-db as
 * a whole.
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class)
@ConditionalOnClass(name = "javax.sql.DataSource")
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@EnableConfigurationProperties(ResilientDbProperties.class)
public class ResilientDbAutoConfiguration {

    @Bean
    static UnknownResilientDbPropertiesCheck resilientDbUnknownPropertiesCheck() {
        return new UnknownResilientDbPropertiesCheck();
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HikariDataSource.class)
    static class HikariPoolConfiguration {

        /** Often enough to catch a saturated pool within a second, rarely enough to cost nothing. */
        private static final Duration SATURATION_SAMPLE_INTERVAL = Duration.ofSeconds(1);

        @Bean
        static HikariPoolSettingsPostProcessor resilientDbHikariPoolSettingsPostProcessor(
                ObjectProvider<ResilientDbProperties> properties) {
            return new HikariPoolSettingsPostProcessor(properties);
        }

        @Bean
        static TransactionLocalSettingsPostProcessor resilientDbTransactionLocalSettingsPostProcessor(
                ObjectProvider<ResilientDbProperties> properties) {
            return new TransactionLocalSettingsPostProcessor(properties);
        }

        @Bean
        @ConditionalOnBean(DataSource.class)
        @ConditionalOnMissingBean
        @Nullable PoolSaturationMonitor resilientDbPoolSaturationMonitor(Map<String, DataSource> dataSources,
                ResilientDbProperties properties) {
            List<HikariDataSource> pools = dataSources.values().stream().map(HikariDataSources::unwrap)
                .filter(Objects::nonNull).toList();
            ResilientDbProperties.Pool settings = properties.getPool();
            return pools.isEmpty() ? null : new PoolSaturationMonitor(pools, settings.getSaturationWarnThreshold(),
                    settings.getSaturationWarnInterval(), SATURATION_SAMPLE_INTERVAL);
        }

    }

}
