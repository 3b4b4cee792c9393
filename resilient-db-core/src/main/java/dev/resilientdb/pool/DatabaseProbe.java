package dev.resilientdb.pool;

import org.jspecify.annotations.Nullable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import com.zaxxer.hikari.pool.HikariPool;
import dev.resilientdb.retry.SqlStates;

/**
 * Proves the database reachable without queueing behind the pool's callers: a round trip on one
 * dedicated connection of its own, opened with the pool's settings and reopened when broken (behind
 * PgBouncer in session mode, on a free pool connection instead: see below). A
 * check never takes longer than the timeout, however the server behaves, and concurrent checks
 * share the one in progress instead of piling up. Thread-safe.
 * <p>
 * The round trip also reads which server answered and whether it is the primary
 * ({@code inet_server_addr()}, {@code inet_server_port()}, {@code pg_is_in_recovery()},
 * {@code transaction_read_only}), and tells the pool's {@link FailoverMonitor}. When the pool's URL asks
 * for the primary ({@code targetServerType=primary}) and the server no longer is, the probe drops its
 * connection, so that its next check reaches the new primary as the pool's new connections do.
 * <p>
 * Behind PgBouncer in session mode ({@link PoolerMode#PGBOUNCER_SESSION}) a connection of its own would
 * hold one of PgBouncer's server connections for its whole life: with the pool as large as
 * {@code default_pool_size} it would wait for one forever, and otherwise take one from the pool. There
 * the round trip runs on a connection borrowed from the pool for a moment instead, and not at all while
 * every pool connection is lent out ({@link Obstacle#POOL_LENT_OUT_IN_SESSION_MODE}): it would take the
 * connection a waiting caller needs, and count as a pool timeout. An empty pool is checked on a new
 * connection, closed at once. Behind PgBouncer in transaction mode the probe keeps its own connection,
 * which gets a server connection between the pool's transactions; when none comes within the timeout
 * while every pool connection is lent out, the check says so ({@link Obstacle#POOL_LENT_OUT_IN_TRANSACTION_MODE}).
 */
public final class DatabaseProbe implements AutoCloseable {

    private static final Pattern PRIMARY = Pattern.compile("(?i)targetServerType=(primary|master)(&|$)");

    private final HikariDataSource dataSource;

    private final Duration timeout;

    private final String applicationName;

    private final ExecutorService executor;

    private final boolean primaryWanted;

    private final PoolerMode pooler;

    /** Used only on the executor's thread. */
    private @Nullable Connection connection;

    private @Nullable CompletableFuture<Result> inFlight;

    private @Nullable CompletableFuture<Result> inFlightWithNewConnection;

    /**
     * @param dataSource the pool whose database is checked
     * @param timeout bound of one check
     * @param applicationName the {@code application_name} of the probe's connection, also in its thread's name
     */
    public DatabaseProbe(HikariDataSource dataSource, Duration timeout, String applicationName) {
        this(dataSource, timeout, applicationName, PoolerMode.NONE);
    }

    /**
     * @param dataSource the pool whose database is checked
     * @param timeout bound of one check
     * @param applicationName the {@code application_name} of the probe's connection, also in its thread's name
     * @param pooler the connection pooler between the pool and PostgreSQL
     */
    public DatabaseProbe(HikariDataSource dataSource, Duration timeout, String applicationName, PoolerMode pooler) {
        this.dataSource = dataSource;
        this.pooler = pooler;
        this.timeout = timeout;
        this.applicationName = applicationName;
        this.primaryWanted = wantsPrimary(dataSource);
        this.executor = Executors.newSingleThreadExecutor(DaemonThreads.named("resilient-db-probe-" + applicationName));
    }

    /** Checks the database with a round trip, within the timeout. */
    public Result check() {
        return check(false);
    }

    /**
     * Checks the database with a round trip and, when {@code newConnection} is set, also proves that
     * the server accepts a new connection now: the probe's own connection may answer while every
     * other connection slot is taken (53300). Within the timeout.
     */
    public Result check(boolean newConnection) {
        long start = System.nanoTime();
        CompletableFuture<Result> check;
        synchronized (this) {
            if (this.executor.isShutdown()) {
                return new Result(false, since(start), null, "closed", null, Obstacle.NONE);
            }
            if (newConnection) {
                if (this.inFlightWithNewConnection == null || this.inFlightWithNewConnection.isDone()) {
                    this.inFlightWithNewConnection = CompletableFuture.supplyAsync(() -> roundTrip(true), this.executor);
                }
                check = this.inFlightWithNewConnection;
            }
            else {
                if (this.inFlight == null || this.inFlight.isDone()) {
                    this.inFlight = CompletableFuture.supplyAsync(() -> roundTrip(false), this.executor);
                }
                check = this.inFlight;
            }
        }
        try {
            // The round trip may have begun before this caller came, and take longer than the timeout
            // (a network timeout, then a new connection's login timeout); the caller waited only this long.
            Result result = check.get(this.timeout.toNanos(), TimeUnit.NANOSECONDS);
            return new Result(result.reachable(), since(start), result.sqlState(), result.error(), result.server(),
                    result.obstacle());
        }
        catch (TimeoutException ex) {
            // Transaction pooling gives the probe's connection a server connection only between the
            // pool's transactions: with every pool connection lent out, they may all be in one.
            Obstacle obstacle = (this.pooler == PoolerMode.PGBOUNCER_TRANSACTION
                    && PoolStatistics.of(this.dataSource).saturated()) ? Obstacle.POOL_LENT_OUT_IN_TRANSACTION_MODE
                            : Obstacle.NONE;
            return new Result(false, since(start), null, "no answer within " + this.timeout.toMillis() + "ms", null,
                    obstacle);
        }
        catch (ExecutionException ex) {
            Throwable cause = (ex.getCause() != null) ? ex.getCause() : ex;
            return new Result(false, since(start), null, cause.getClass().getSimpleName(), null, Obstacle.NONE);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return new Result(false, since(start), null, "interrupted", null, Obstacle.NONE);
        }
    }

    private Result roundTrip(boolean newConnection) {
        if (this.pooler == PoolerMode.PGBOUNCER_SESSION) {
            return roundTripOnPoolConnection();
        }
        long start = System.nanoTime();
        boolean reused = this.connection != null;
        FailoverMonitor.Server server;
        try {
            server = whoAnswers();
        }
        catch (SQLException ex) {
            closeConnection();
            if (!reused) {
                return failure(start, ex, "");
            }
            // A connection kept from before a restart fails once; a fresh one tells the truth.
            try {
                server = whoAnswers();
                reused = false;
            }
            catch (SQLException retry) {
                closeConnection();
                return failure(start, retry, "");
            }
        }
        if (!server.primary() && this.primaryWanted) {
            // Demoted under the probe's connection: the next check connects again, to the new primary.
            closeConnection();
        }
        serverSeen(server);
        if (newConnection && reused) {
            try (Connection fresh = DirectConnections.open(this.dataSource, this.applicationName, this.timeout)) {
                // Opened: the server accepts new connections.
            }
            catch (SQLException ex) {
                return failure(start, ex, " on a new connection", server);
            }
        }
        return new Result(true, since(start), null, null, server, Obstacle.NONE);
    }

    /**
     * The round trip behind session pooling: on a pool connection borrowed for a moment, never while
     * every one is lent out; on a new connection, closed at once, while the pool holds none.
     */
    private Result roundTripOnPoolConnection() {
        long start = System.nanoTime();
        PoolStatistics statistics = PoolStatistics.of(this.dataSource);
        if (statistics.saturated()) {
            return new Result(false, since(start), null, "not checked: every pool connection is lent out", null,
                    Obstacle.POOL_LENT_OUT_IN_SESSION_MODE);
        }
        FailoverMonitor.Server server;
        try {
            if (statistics.total() == 0) {
                try (Connection fresh = DirectConnections.open(this.dataSource, this.applicationName, this.timeout)) {
                    server = whoAnswers(fresh);
                }
            }
            else {
                try (Connection borrowed = borrow()) {
                    borrowed.setNetworkTimeout(Runnable::run, (int) Math.max(1, this.timeout.toMillis()));
                    server = whoAnswers(borrowed);
                }
            }
        }
        catch (SQLException ex) {
            return failure(start, ex, "");
        }
        serverSeen(server);
        return new Result(true, since(start), null, null, server, Obstacle.NONE);
    }

    /**
     * A pool connection within three quarters of the timeout, so that a failure to get one (and the
     * pool's last connection failure it carries) reaches the caller before the caller stops waiting.
     */
    private Connection borrow() throws SQLException {
        HikariPoolMXBean pool = this.dataSource.getHikariPoolMXBean();
        if (pool instanceof HikariPool hikari) {
            return hikari.getConnection(Math.max(1, this.timeout.toMillis() * 3 / 4));
        }
        return this.dataSource.getConnection();
    }

    private void serverSeen(FailoverMonitor.Server server) {
        FailoverMonitor monitor = FailoverMonitor.of(this.dataSource);
        if (monitor != null) {
            monitor.serverSeen(server, this.primaryWanted);
        }
    }

    /** One round trip on the probe's own connection, opened when it has none. */
    private FailoverMonitor.Server whoAnswers() throws SQLException {
        if (this.connection == null || this.connection.isClosed()) {
            this.connection = DirectConnections.open(this.dataSource, this.applicationName, this.timeout);
        }
        return whoAnswers(this.connection);
    }

    /** One round trip that also says which server answered and whether it is the primary. */
    private static FailoverMonitor.Server whoAnswers(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet row = statement.executeQuery("SELECT host(inet_server_addr()), inet_server_port(), "
                        + "NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'")) {
            row.next();
            return new FailoverMonitor.Server(row.getString(1), row.getInt(2), row.getBoolean(3));
        }
    }

    /** Whether the pool's URL or driver properties ask for the primary ({@code targetServerType}). */
    private static boolean wantsPrimary(HikariDataSource dataSource) {
        String property = dataSource.getDataSourceProperties().getProperty("targetServerType");
        if (property != null) {
            return PRIMARY.matcher("targetServerType=" + property).find();
        }
        return dataSource.getJdbcUrl() != null && PRIMARY.matcher(dataSource.getJdbcUrl()).find();
    }

    private static Result failure(long start, SQLException ex, String where) {
        return failure(start, ex, where, null);
    }

    private static Result failure(long start, SQLException ex, String where, FailoverMonitor.@Nullable Server server) {
        Obstacle obstacle = SqlStates.isPgBouncerLoginBackOff(ex) ? Obstacle.PGBOUNCER_LOGIN_BACK_OFF : Obstacle.NONE;
        SQLException cause = innermost(ex);
        return new Result(false, since(start), cause.getSQLState(),
                "SQLSTATE " + cause.getSQLState() + " (" + cause.getClass().getSimpleName() + ")" + where, server, obstacle);
    }

    /**
     * The driver's failure under HikariCP's "Connection is not available" (which copies its SQLSTATE),
     * so that the error names the driver's exception rather than the pool's timeout.
     */
    private static SQLException innermost(SQLException ex) {
        SQLException innermost = ex;
        for (Throwable current = ex.getCause(); current != null && current != current.getCause(); current = current.getCause()) {
            if (current instanceof SQLException sql && sql.getSQLState() != null) {
                innermost = sql;
            }
        }
        return innermost;
    }

    /** Closes the probe's connection; the next check opens a new one. */
    public synchronized void disconnect() {
        if (!this.executor.isShutdown()) {
            this.executor.execute(this::closeConnection);
        }
    }

    /** Closes the probe's connection and ends its thread; checks after this report "closed". */
    @Override
    public synchronized void close() {
        if (!this.executor.isShutdown()) {
            this.executor.execute(this::closeConnection);
            this.executor.shutdown();
        }
    }

    private void closeConnection() {
        if (this.connection != null) {
            try {
                this.connection.close();
            }
            catch (SQLException ex) {
                // Broken already; nothing to release.
            }
            this.connection = null;
        }
    }

    private static Duration since(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /**
     * What one check found.
     *
     * @param reachable whether the database answered a round trip
     * @param latency how long the caller of {@link #check(boolean)} waited for this answer, at most
     * about the timeout (not how long the round trip it shared took)
     * @param sqlState the SQLSTATE of the failure, if the server or driver gave one
     * @param error what went wrong, without URL, credentials or SQL; {@code null} when reachable
     * @param server which server answered the round trip and whether it is the primary; {@code null} when
     * none did
     * @param obstacle what stood between the check and the database, when it is known
     */
    public record Result(boolean reachable, Duration latency, @Nullable String sqlState, @Nullable String error,
            FailoverMonitor.@Nullable Server server, Obstacle obstacle) {

        /** Whether the server refused a new connection because all its slots are taken (53300). */
        public boolean tooManyConnections() {
            return "53300".equals(this.sqlState);
        }

        /** Whether the check did not reach the database at all, so that it says nothing of its health. */
        public boolean unchecked() {
            return this.obstacle == Obstacle.POOL_LENT_OUT_IN_SESSION_MODE
                    || this.obstacle == Obstacle.POOL_LENT_OUT_IN_TRANSACTION_MODE;
        }

    }

    /** What stood between a check and the database, when it is known. */
    public enum Obstacle {

        /** Nothing known: the database answered, or failed as it failed. */
        NONE,

        /**
         * PgBouncer refused the login (08P01) because its own last login to PostgreSQL failed, and it
         * waits {@code server_login_retry} (15 s by default) before it tries again. PostgreSQL may be back
         * already; PgBouncer does not know until its next attempt.
         */
        PGBOUNCER_LOGIN_BACK_OFF,

        /**
         * Behind PgBouncer in session mode, every pool connection was lent out, so the check, which runs on
         * one of them, did not run: the database was not asked, and nothing failed.
         */
        POOL_LENT_OUT_IN_SESSION_MODE,

        /**
         * Behind PgBouncer in transaction mode, the probe's connection got no server connection within the
         * timeout while every pool connection was lent out: they may hold every server connection PgBouncer
         * has ({@code default_pool_size}) in transactions, or the database may not answer; the check cannot
         * tell which.
         */
        POOL_LENT_OUT_IN_TRANSACTION_MODE

    }

}
