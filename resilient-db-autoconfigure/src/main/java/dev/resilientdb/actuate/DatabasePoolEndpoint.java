package dev.resilientdb.actuate;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.PoolStatistics;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * The {@code dbpool} actuator endpoint: the pool's statistics and effective settings (read), and a
 * "force reconnect" that replaces every pooled connection without failing work in flight (write).
 * Like every endpoint but health, it is not exposed over HTTP unless the application exposes it.
 */
@Endpoint(id = "dbpool")
public class DatabasePoolEndpoint {

    private final HikariDataSource dataSource;

    public DatabasePoolEndpoint(HikariDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Statistics and effective settings; never the URL, credentials or arbitrary driver properties. */
    @ReadOperation
    public Map<String, Object> pool() {
        Map<String, Object> pool = new LinkedHashMap<>();
        pool.put("statistics", statistics(PoolStatistics.of(this.dataSource)));
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("maxSize", this.dataSource.getMaximumPoolSize());
        settings.put("minIdle", this.dataSource.getMinimumIdle());
        settings.put("connectionTimeoutMs", this.dataSource.getConnectionTimeout());
        settings.put("idleTimeoutMs", this.dataSource.getIdleTimeout());
        settings.put("maxLifetimeMs", this.dataSource.getMaxLifetime());
        settings.put("keepaliveTimeMs", this.dataSource.getKeepaliveTime());
        settings.put("validationTimeoutMs", this.dataSource.getValidationTimeout());
        settings.put("leakDetectionThresholdMs", this.dataSource.getLeakDetectionThreshold());
        Properties driver = this.dataSource.getDataSourceProperties();
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
     * Retires every pooled connection: idle ones at once, busy ones when they are returned. New
     * connections are opened as callers need them.
     */
    @WriteOperation
    public Map<String, Object> evict() {
        PoolStatistics before = PoolStatistics.of(this.dataSource);
        if (this.dataSource.getHikariPoolMXBean() != null) {
            this.dataSource.getHikariPoolMXBean().softEvictConnections();
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("evicted", before.total());
        result.put("statistics", statistics(PoolStatistics.of(this.dataSource)));
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
