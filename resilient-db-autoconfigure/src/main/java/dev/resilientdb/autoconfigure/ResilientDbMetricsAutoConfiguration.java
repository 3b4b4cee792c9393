package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.HealthCheckObserver;
import dev.resilientdb.pool.DatabaseAvailability;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.pool.FailoverMonitor;
import dev.resilientdb.pool.PoolStatistics;
import dev.resilientdb.retry.RetryEngine;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.beans.factory.ObjectProvider;
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
 * seen: a demoted primary or a new one, see {@link FailoverMonitor}), {@value #DATABASE_STATE} (1 for the
 * database's current {@link DatabaseAvailability}, by {@code state}) and {@value #DATABASE_STATE_DURATION}
 * (how long it has been so), each tagged with the pool's name,
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

    static final String DATABASE_STATE = "resilientdb.database.state";

    static final String DATABASE_STATE_DURATION = "resilientdb.database.state.duration";

    @Bean
    MeterBinder resilientDbPoolMeters(Map<String, DataSource> dataSources, ObjectProvider<RetryEngine> engine) {
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
                for (DatabaseAvailability availability : DatabaseAvailability.values()) {
                    Gauge.builder(DATABASE_STATE, pool, p -> (availability == availabilityOf(engine, p)) ? 1 : 0)
                        .description("1 for the database's current state as the pool's evidence shows it, 0 for the others")
                        .tag("pool", pool.getPoolName())
                        .tag("state", availability.name().toLowerCase(Locale.ROOT))
                        .register(registry);
                }
                TimeGauge.builder(DATABASE_STATE_DURATION, pool, TimeUnit.SECONDS, p -> secondsInState(engine, p))
                    .description("How long the database has been in its current state")
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

    private static DatabaseAvailability availabilityOf(ObjectProvider<RetryEngine> engine, HikariDataSource pool) {
        DatabaseState state = stateOf(engine, pool);
        return (state != null) ? state.current().availability() : DatabaseAvailability.UP;
    }

    private static double secondsInState(ObjectProvider<RetryEngine> engine, HikariDataSource pool) {
        DatabaseState state = stateOf(engine, pool);
        return (state != null) ? Duration.between(state.current().since(), Instant.now()).toMillis() / 1000.0 : 0;
    }

    private static @Nullable DatabaseState stateOf(ObjectProvider<RetryEngine> engine, HikariDataSource pool) {
        RetryEngine retryEngine = engine.getIfAvailable();
        return (retryEngine != null) ? retryEngine.databaseState(pool) : null;
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
