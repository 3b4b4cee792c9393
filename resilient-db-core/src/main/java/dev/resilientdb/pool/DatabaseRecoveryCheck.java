package dev.resilientdb.pool;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The circuit breaker's check for a database's return, outside the pool: a {@link DatabaseProbe}
 * whose connection is closed as soon as the database answers, so that it holds a server connection
 * only while the breaker is open. Closing it ends the probe's thread. Thread-safe.
 */
public final class DatabaseRecoveryCheck implements BooleanSupplier, AutoCloseable {

    private final DatabaseProbe probe;

    /**
     * @param dataSource the pool whose database is checked
     * @param timeout bound of one check
     * @param applicationName the {@code application_name} of the check's connection
     */
    public DatabaseRecoveryCheck(HikariDataSource dataSource, Duration timeout, String applicationName) {
        this.probe = new DatabaseProbe(dataSource, timeout, applicationName);
    }

    /** Whether the database answers a round trip now. */
    @Override
    public boolean getAsBoolean() {
        boolean back = this.probe.check().reachable();
        if (back) {
            this.probe.disconnect();
        }
        return back;
    }

    @Override
    public void close() {
        this.probe.close();
    }

}
