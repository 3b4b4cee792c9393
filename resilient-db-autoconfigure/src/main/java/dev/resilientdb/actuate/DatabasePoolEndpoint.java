package dev.resilientdb.actuate;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Function;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.pool.FailoverMonitor;
import dev.resilientdb.pool.PoolStatistics;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * The {@code dbpool} actuator endpoint: the statistics and effective settings of every HikariCP pool,
 * by DataSource bean name (read), and a "force reconnect" that replaces every pooled connection
 * without failing work in flight (write). Like every endpoint but health, it is not exposed over
 * HTTP unless the application exposes it.
 */
@Endpoint(id = "dbpool")
public class DatabasePoolEndpoint {

    private final Map<String, HikariDataSource> pools;

    private final Function<HikariDataSource, DatabaseState> databaseStates;

    /** @param pools the pools, by DataSource bean name */
    public DatabasePoolEndpoint(Map<String, HikariDataSource> pools) {
        this(pools, pool -> null);
    }

    /**
     * @param pools the pools, by DataSource bean name
     * @param databaseStates the database state of a pool that fail-fast decides from, {@code null} when it has none
     */
    public DatabasePoolEndpoint(Map<String, HikariDataSource> pools, Function<HikariDataSource, DatabaseState> databaseStates) {
        this.pools = new LinkedHashMap<>(pools);
        this.databaseStates = databaseStates;
    }

    /**
     * Statistics and effective settings of each pool, under {@code pools} by bean name, and the server
     * its new connections reach as the {@code db} health check last saw it ({@code server}: {@code address},
     * {@code primary}; absent before the first check) with the failovers it has seen ({@code failovers}),
     * and the database's state as the pool's evidence shows it ({@code database}: {@code state},
     * {@code since}, {@code failingFast}, {@code reason});
     * never the URL, credentials or arbitrary driver properties.
     */
    @ReadOperation
    public Map<String, Object> pool() {
        Map<String, Object> pools = new LinkedHashMap<>();
        this.pools.forEach((name, dataSource) -> {
            Map<String, Object> pool = describe(dataSource);
            DatabaseState state = this.databaseStates.apply(dataSource);
            if (state != null) {
                DatabaseState.Snapshot now = state.current();
                Map<String, Object> database = new LinkedHashMap<>();
                database.put("state", now.availability().name().toLowerCase(Locale.ROOT));
                database.put("since", now.since().toString());
                database.put("failingFast", now.failingFast());
                if (now.reason() != null) {
                    database.put("reason", now.reason());
                }
                pool.put("database", database);
            }
            pools.put(name, pool);
        });
        return Map.of("pools", pools);
    }

    private static Map<String, Object> describe(HikariDataSource dataSource) {
        Map<String, Object> pool = new LinkedHashMap<>();
        pool.put("statistics", statistics(PoolStatistics.of(dataSource)));
        FailoverMonitor monitor = FailoverMonitor.of(dataSource);
        if (monitor != null) {
            FailoverMonitor.Server server = monitor.lastSeen();
            if (server != null) {
                Map<String, Object> seen = new LinkedHashMap<>();
                seen.put("address", server.address());
                seen.put("primary", server.primary());
                pool.put("server", seen);
            }
            pool.put("failovers", monitor.failovers());
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("maxSize", dataSource.getMaximumPoolSize());
        settings.put("minIdle", dataSource.getMinimumIdle());
        settings.put("connectionTimeoutMs", dataSource.getConnectionTimeout());
        settings.put("idleTimeoutMs", dataSource.getIdleTimeout());
        settings.put("maxLifetimeMs", dataSource.getMaxLifetime());
        settings.put("keepaliveTimeMs", dataSource.getKeepaliveTime());
        settings.put("validationTimeoutMs", dataSource.getValidationTimeout());
        settings.put("leakDetectionThresholdMs", dataSource.getLeakDetectionThreshold());
        Properties driver = dataSource.getDataSourceProperties();
        Map<String, Object> driverSettings = new LinkedHashMap<>();
        for (String name : new String[] { "connectTimeout", "socketTimeout", "tcpKeepAlive", "ApplicationName", "options" }) {
            if (driver.getProperty(name) != null) {
                driverSettings.put(name, driver.getProperty(name));
            }
        }
        settings.put("driver", driverSettings);
        pool.put("settings", settings);
        return pool;
    }

    /**
     * Retires every pooled connection of every pool: idle ones at once, busy ones when they are
     * returned. New connections are opened as callers need them. Answers how many were retired in
     * all ({@code evicted}) and, under {@code pools}, for each pool.
     */
    @WriteOperation
    public Map<String, Object> evict() {
        int evicted = 0;
        Map<String, Object> pools = new LinkedHashMap<>();
        for (Map.Entry<String, HikariDataSource> entry : this.pools.entrySet()) {
            HikariDataSource dataSource = entry.getValue();
            PoolStatistics before = PoolStatistics.of(dataSource);
            if (dataSource.getHikariPoolMXBean() != null) {
                dataSource.getHikariPoolMXBean().softEvictConnections();
            }
            evicted += before.total();
            Map<String, Object> pool = new LinkedHashMap<>();
            pool.put("evicted", before.total());
            pool.put("statistics", statistics(PoolStatistics.of(dataSource)));
            pools.put(entry.getKey(), pool);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("evicted", evicted);
        result.put("pools", pools);
        return result;
    }

    private static Map<String, Object> statistics(PoolStatistics pool) {
        Map<String, Object> statistics = new LinkedHashMap<>();
        statistics.put("pool", String.valueOf(pool.name()));
        statistics.put("active", pool.active());
        statistics.put("idle", pool.idle());
        statistics.put("total", pool.total());
        statistics.put("threadsWaiting", pool.waiting());
        statistics.put("max", pool.max());
        statistics.put("utilization", Math.round(pool.utilization() * 100) / 100.0);
        statistics.put("saturated", pool.saturated());
        return statistics;
    }

}
