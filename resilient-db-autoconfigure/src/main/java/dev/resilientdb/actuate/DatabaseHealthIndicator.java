package dev.resilientdb.actuate;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Supplier;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.DatabaseProbe;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.pool.FailoverMonitor;
import dev.resilientdb.pool.PoolStatistics;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Health of the database behind a HikariCP pool, for {@code /actuator/health/db}. Unlike Spring
 * Boot's {@code DataSourceHealthIndicator}, it never borrows a pool connection, so it answers
 * within its timeout even when every connection is busy and callers queue.
 * <p>
 * UP when the application can get a connection: the database answers (a round trip on the probe's
 * own connection, or a refusal only because every connection slot is taken, 53300) and the pool
 * holds connections or, when it holds none, the server accepts a new one. So a server out of slots
 * is UP while the pool still holds connections, and DOWN while it holds none, although the probe's
 * own connection still answers. Details: both facts ({@code reachable}, {@code connectionAvailable}),
 * the server that answered ({@code server}, {@code host:port}) and whether it is the primary
 * ({@code primary}), which is where the pool's new connections go, the failovers the pool has seen
 * ({@code failovers}), the pool's statistics, whether it is saturated, the check's latency, and the state of the retry
 * engine's circuit breaker; never the URL, credentials or SQL.
 * <p>
 * The latency it reports (the {@code checkLatencyMs} detail, and the {@link HealthCheckObserver}
 * behind the {@code resilientdb.health.check} meter) is how long this {@code health()} call took to
 * answer, as its caller waited: at most about the timeout, also when it shared a probe round trip
 * that began earlier or ran on longer in the background.
 */
public class DatabaseHealthIndicator implements HealthIndicator, DisposableBean {

    private final HikariDataSource dataSource;

    private final DatabaseProbe probe;

    private final HealthCheckObserver observer;

    private final Supplier<String> circuitBreakerState;

    private final Supplier<DatabaseState> databaseState;

    /**
     * @param dataSource the pool
     * @param probe the check that proves the database reachable
     * @param observer told every check's latency and outcome
     * @param circuitBreakerState the retry engine's circuit breaker state, or {@code null} when there is none
     */
    public DatabaseHealthIndicator(HikariDataSource dataSource, DatabaseProbe probe, HealthCheckObserver observer,
            Supplier<String> circuitBreakerState) {
        this(dataSource, probe, observer, circuitBreakerState, () -> null);
    }

    /**
     * @param dataSource the pool
     * @param probe the check that proves the database reachable
     * @param observer told every check's latency and outcome
     * @param circuitBreakerState the retry engine's circuit breaker state, or {@code null} when there is none
     * @param databaseState the pool's database state that fail-fast decides from, told of each check that
     * finds the database unanswering; {@code null} when there is none
     */
    public DatabaseHealthIndicator(HikariDataSource dataSource, DatabaseProbe probe, HealthCheckObserver observer,
            Supplier<String> circuitBreakerState, Supplier<DatabaseState> databaseState) {
        this.dataSource = dataSource;
        this.probe = probe;
        this.observer = observer;
        this.circuitBreakerState = circuitBreakerState;
        this.databaseState = databaseState;
    }

    @Override
    public Health health() {
        long start = System.nanoTime();
        boolean poolEmpty = PoolStatistics.of(this.dataSource).total() == 0;
        // With connections in the pool, the application can work; without, only if the server accepts new ones.
        DatabaseProbe.Result result = this.probe.check(poolEmpty);
        PoolStatistics pool = PoolStatistics.of(this.dataSource);
        boolean reachable = result.reachable() || result.tooManyConnections();
        boolean connectionAvailable = poolEmpty ? result.reachable() : reachable;
        boolean up = reachable && connectionAvailable;
        Duration latency = Duration.ofNanos(System.nanoTime() - start);
        this.observer.checked(pool.name(), latency, up);
        Health.Builder health = up ? Health.up() : Health.down();
        health.withDetail("database", "PostgreSQL")
            .withDetail("reachable", reachable)
            .withDetail("connectionAvailable", connectionAvailable)
            .withDetail("pool", String.valueOf(pool.name()))
            .withDetail("active", pool.active())
            .withDetail("idle", pool.idle())
            .withDetail("total", pool.total())
            .withDetail("threadsWaiting", pool.waiting())
            .withDetail("max", pool.max())
            .withDetail("utilization", Math.round(pool.utilization() * 100) / 100.0)
            .withDetail("saturated", pool.saturated())
            .withDetail("checkLatencyMs", latency.toMillis());
        String breaker = this.circuitBreakerState.get();
        if (breaker != null) {
            health.withDetail("circuitBreaker", breaker);
        }
        DatabaseState state = this.databaseState.get();
        if (state != null) {
            state.probed(result);
            DatabaseState.Snapshot now = state.current();
            health.withDetail("state", now.availability().name().toLowerCase(Locale.ROOT))
                .withDetail("stateSince", now.since().toString())
                .withDetail("failingFast", now.failingFast());
            if (now.reason() != null) {
                health.withDetail("stateReason", now.reason());
            }
        }
        if (result.server() != null) {
            health.withDetail("server", result.server().address()).withDetail("primary", result.server().primary());
        }
        FailoverMonitor monitor = FailoverMonitor.of(this.dataSource);
        if (monitor != null) {
            health.withDetail("failovers", monitor.failovers());
        }
        if (result.error() != null) {
            health.withDetail("error", result.error());
        }
        return health.build();
    }

    @Override
    public void destroy() {
        this.probe.close();
    }

}
