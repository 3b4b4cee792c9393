package dev.resilientdb.pool;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.logging.Logger;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.util.DriverDataSource;
import dev.resilientdb.retry.SqlStates;
import org.jspecify.annotations.Nullable;

/**
 * Opens the physical connections of a HikariCP pool. While the server refuses connections, or is
 * starting up or shutting down, it tries again every 100 ms for up to the pool's connection timeout
 * instead of failing at once.
 * <p>
 * Why: after each failed attempt to add a connection, HikariCP sleeps, doubling the sleep up to 5 s.
 * A database that is down for a few seconds therefore comes back to a pool asleep for up to 5 s more,
 * and requests whose retries would have outlasted the outage run out of time. Failures that waiting
 * does not mend (wrong password, unknown database, too many connections) fail at once, as before.
 * <p>
 * When it {@linkplain #follow(DatabaseState) follows the pool's database state}, it also keeps waiting
 * beyond the connection timeout while the state knows the database is down (until the pool closes),
 * and it connects as soon as the state sees the database answer: a refill that gave up at the
 * connection timeout would sleep through HikariCP's back-off instead, and the first caller after the
 * database's return would wait for it. Thread-safe.
 */
public final class ServerWaitingDataSource implements DataSource {

    private static final Duration PAUSE = Duration.ofMillis(100);

    private final DataSource driver;

    private final HikariConfig config;

    private volatile @Nullable DatabaseState databaseState;

    private ServerWaitingDataSource(DataSource driver, HikariConfig config) {
        this.driver = driver;
        this.config = config;
    }

    /**
     * Makes the pool open its connections through a {@code ServerWaitingDataSource}, when it would
     * otherwise use the JDBC driver directly (a JDBC URL and no {@code DataSource} of its own).
     * @param config the pool's configuration, before the pool starts
     * @return whether the pool now waits for the server
     */
    public static boolean install(HikariConfig config) {
        if (config.getDataSource() != null || config.getDataSourceClassName() != null || config.getJdbcUrl() == null) {
            return false;
        }
        config.setDataSource(new ServerWaitingDataSource(new DriverDataSource(config.getJdbcUrl(),
                config.getDriverClassName(), config.getDataSourceProperties(), config.getUsername(),
                config.getPassword()), config));
        return true;
    }

    /**
     * The DataSource a pool opens its connections through, when it is a {@code ServerWaitingDataSource}.
     * @param config the pool's configuration
     * @return the DataSource, or {@code null} when the pool uses another
     */
    public static @Nullable ServerWaitingDataSource of(HikariConfig config) {
        return (config.getDataSource() instanceof ServerWaitingDataSource waiting) ? waiting : null;
    }

    /**
     * Tells the pool's database state of each failed connection attempt as it happens, waits for the
     * database while the state knows it is down, and connects as soon as it answers again.
     */
    public void follow(DatabaseState databaseState) {
        this.databaseState = databaseState;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return connect(this.driver::getConnection);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return connect(() -> this.driver.getConnection(username, password));
    }

    private Connection connect(ConnectionAttempt attempt) throws SQLException {
        long giveUpAt = System.nanoTime() + Duration.ofMillis(this.config.getConnectionTimeout()).toNanos();
        while (true) {
            try {
                Connection connection = attempt.connect();
                DatabaseState state = this.databaseState;
                if (state != null) {
                    state.connected();
                }
                return connection;
            }
            catch (SQLException ex) {
                DatabaseState state = this.databaseState;
                if (state != null) {
                    // Evidence at once: a caller waiting for this connection would report it only at its connection timeout.
                    state.attemptFailed(ex);
                }
                if (!serverNotAnswering(ex)
                        || (System.nanoTime() + PAUSE.toNanos() >= giveUpAt && !outageKnown()) || !pause()) {
                    throw ex;
                }
            }
        }
    }

    /**
     * Connection exceptions (class 08) and "cannot connect now" (57P03: starting up, shutting down),
     * but not PgBouncer's refusals of the login or of a startup parameter, which it sends as 08P01.
     */
    private static boolean serverNotAnswering(SQLException ex) {
        String state = SqlStates.of(ex);
        return state != null && (state.startsWith("08") || state.equals("57P03")) && !SqlStates.isRefusedForGood(ex);
    }

    /** Whether the database state knows of an outage, and the pool still runs. */
    private boolean outageKnown() {
        DatabaseState state = this.databaseState;
        if (state == null || state.isClosed() || (this.config instanceof HikariDataSource pool && pool.isClosed())) {
            return false;
        }
        return state.current().availability() != DatabaseAvailability.UP;
    }

    private boolean pause() {
        try {
            DatabaseState state = this.databaseState;
            if (state != null && !state.isClosed()) {
                state.awaitTurn(PAUSE);
            }
            else {
                Thread.sleep(PAUSE.toMillis());
            }
            return true;
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return this.driver.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        this.driver.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        this.driver.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return this.driver.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return this.driver.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        if (type.isInstance(this)) {
            return type.cast(this);
        }
        return this.driver.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return type.isInstance(this) || this.driver.isWrapperFor(type);
    }

    @FunctionalInterface
    private interface ConnectionAttempt {

        Connection connect() throws SQLException;

    }

}
