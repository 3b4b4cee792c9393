package dev.resilientdb.actuate;

import java.time.Duration;

/**
 * Told the latency and outcome of every database health check, for metrics.
 */
@FunctionalInterface
public interface HealthCheckObserver {

    /**
     * @param pool the pool's name
     * @param latency how long the check took
     * @param up whether the database was reachable
     */
    void checked(String pool, Duration latency, boolean up);

}
