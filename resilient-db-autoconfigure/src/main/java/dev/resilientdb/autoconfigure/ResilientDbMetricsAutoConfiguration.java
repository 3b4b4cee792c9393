package dev.resilientdb.autoconfigure;

import java.util.List;
import java.util.Map;
import java.util.Objects;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.HealthCheckObserver;
import dev.resilientdb.pool.FailoverMonitor;
import dev.resilientdb.pool.PoolStatistics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * Meters that HikariCP's own {@code hikaricp.connections.*} lack: {@value #UTILIZATION} (share of the
 * maximum in use), {@value #SATURATED} (1 while a caller would wait) and {@value #HEALTH_CHECK}
 * (latency of the {@code db} health check, by outcome) and {@value #FAILOVERS} (failovers the pool has
 * seen: a demoted primary or a new one, see {@link FailoverMonitor}), each tagged with the pool's name,
 * for every HikariCP DataSource bean. The retry
 * counters come from {@link ResilientDbRetryAutoConfiguration}.
 */
@AutoConfiguration(after = { MetricsAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
        DataSourceAutoConfiguration.class, DataSourcePoolMetricsAutoConfiguration.class,
        ResilientDbAutoConfiguration.class })
@ConditionalOnClass({ MeterRegistry.class, HikariDataSource.class, MetricsAutoConfiguration.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnBean({ MeterRegistry.class, DataSource.class })
public class ResilientDbMetricsAutoConfiguration {

    static final String UTILIZATION = "resilientdb.pool.utilization";

    static final String SATURATED = "resilientdb.pool.saturated";

    static final String HEALTH_CHECK = "resilientdb.health.check";

    static final String FAILOVERS = "resilientdb.failovers";

    @Bean
    MeterBinder resilientDbPoolMeters(Map<String, DataSource> dataSources) {
        List<HikariDataSource> pools = dataSources.values().stream().map(HikariDataSources::unwrap)
            .filter(Objects::nonNull).toList();
        return registry -> {
            for (HikariDataSource pool : pools) {
                Gauge.builder(UTILIZATION, pool, p -> PoolStatistics.of(p).utilization())
                    .description("Share of the pool's maximum size in use, from 0 to 1")
                    .tag("pool", pool.getPoolName())
                    .register(registry);
                Gauge.builder(SATURATED, pool, p -> PoolStatistics.of(p).saturated() ? 1 : 0)
                    .description("1 while every connection is in use or callers wait for one, else 0")
                    .tag("pool", pool.getPoolName())
                    .register(registry);
                FailoverMonitor monitor = FailoverMonitor.of(pool);
                if (monitor != null) {
                    FunctionCounter.builder(FAILOVERS, monitor, FailoverMonitor::failovers)
                        .description("Failovers the pool has seen: its server demoted, or another server primary")
                        .tag("pool", pool.getPoolName())
                        .register(registry);
                }
            }
        };
    }

    @Bean
    HealthCheckObserver resilientDbHealthCheckMeter(MeterRegistry registry) {
        return (pool, latency, up) -> Timer.builder(HEALTH_CHECK)
            .description("Latency of the db health check")
            .tag("pool", String.valueOf(pool))
            .tag("outcome", up ? "up" : "down")
            .register(registry)
            .record(latency);
    }

}
