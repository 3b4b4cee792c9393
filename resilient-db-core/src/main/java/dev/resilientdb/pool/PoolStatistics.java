package dev.resilientdb.pool;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

/**
 * A snapshot of a HikariCP pool, read from its {@link HikariPoolMXBean} without taking a connection.
 *
 * @param name the pool's name
 * @param active connections lent to callers
 * @param idle connections waiting in the pool
 * @param total connections open, active and idle together
 * @param waiting callers waiting for a connection
 * @param max the pool's maximum size
 */
public record PoolStatistics(String name, int active, int idle, int total, int waiting, int max) {

    /** Reads the pool; a pool that has not started yet reads as empty. */
    public static PoolStatistics of(HikariDataSource dataSource) {
        HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
        if (pool == null) {
            return new PoolStatistics(dataSource.getPoolName(), 0, 0, 0, 0, dataSource.getMaximumPoolSize());
        }
        return new PoolStatistics(dataSource.getPoolName(), pool.getActiveConnections(), pool.getIdleConnections(),
                pool.getTotalConnections(), pool.getThreadsAwaitingConnection(), dataSource.getMaximumPoolSize());
    }

    /** Share of the maximum in use, from 0.0 to 1.0. */
    public double utilization() {
        return (this.max > 0) ? Math.min(1.0, (double) this.active / this.max) : 0.0;
    }

    /** Whether a caller asking now would have to wait: every connection is lent out, or callers already wait. */
    public boolean saturated() {
        return this.waiting > 0 || (this.active >= this.max && this.idle == 0);
    }

}
