package dev.resilientdb.actuate;

import java.time.Duration;

/**
 * Told the latency and outcome of every database health check, for metrics.
 */
@FunctionalInterface
public interface HealthCheckObserver {

    /**
     * @param pool the pool's name
     * @param latency how long the health check took to answer its caller (bounded by the health
     * timeout), not how long the probe's round trip ran in the background
     * @param up whether the database was reachable
     */
    void checked(String pool, Duration latency, boolean up);

}
