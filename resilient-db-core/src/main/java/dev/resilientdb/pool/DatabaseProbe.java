package dev.resilientdb.pool;

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

/**
 * Proves the database reachable without taking a connection from the pool: a round trip on one
 * dedicated connection of its own, opened with the pool's settings and reopened when broken. A
 * check never takes longer than the timeout, however the server behaves, and concurrent checks
 * share the one in progress instead of piling up. Thread-safe.
 * <p>
 * The round trip also reads which server answered and whether it is the primary
 * ({@code inet_server_addr()}, {@code inet_server_port()}, {@code pg_is_in_recovery()},
 * {@code transaction_read_only}), and tells the pool's {@link FailoverMonitor}. When the pool's URL asks
 * for the primary ({@code targetServerType=primary}) and the server no longer is, the probe drops its
 * connection, so that its next check reaches the new primary as the pool's new connections do.
 */
public final class DatabaseProbe implements AutoCloseable {

    private static final Pattern PRIMARY = Pattern.compile("(?i)targetServerType=(primary|master)(&|$)");

    private final HikariDataSource dataSource;

    private final Duration timeout;

    private final String applicationName;

    private final ExecutorService executor;

    private final boolean primaryWanted;

    /** Used only on the executor's thread. */
    private Connection connection;

    private CompletableFuture<Result> inFlight;

    private CompletableFuture<Result> inFlightWithNewConnection;

    /**
     * @param dataSource the pool whose database is checked
     * @param timeout bound of one check
     * @param applicationName the {@code application_name} of the probe's connection, also in its thread's name
     */
    public DatabaseProbe(HikariDataSource dataSource, Duration timeout, String applicationName) {
        this.dataSource = dataSource;
        this.timeout = timeout;
        this.applicationName = applicationName;
        this.primaryWanted = wantsPrimary(dataSource);
        this.executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "resilient-db-probe-" + applicationName);
            thread.setDaemon(true);
            return thread;
        });
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
                return new Result(false, since(start), null, "closed", null);
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
            return new Result(result.reachable(), since(start), result.sqlState(), result.error(), result.server());
        }
        catch (TimeoutException ex) {
            return new Result(false, since(start), null, "no answer within " + this.timeout.toMillis() + "ms", null);
        }
        catch (ExecutionException ex) {
            return new Result(false, since(start), null, ex.getCause().getClass().getSimpleName(), null);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return new Result(false, since(start), null, "interrupted", null);
        }
    }

    private Result roundTrip(boolean newConnection) {
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
        FailoverMonitor monitor = FailoverMonitor.of(this.dataSource);
        if (monitor != null) {
            monitor.serverSeen(server, this.primaryWanted);
        }
        if (newConnection && reused) {
            try (Connection fresh = DirectConnections.open(this.dataSource, this.applicationName, this.timeout)) {
                // Opened: the server accepts new connections.
            }
            catch (SQLException ex) {
                return failure(start, ex, " on a new connection", server);
            }
        }
        return new Result(true, since(start), null, null, server);
    }

    /** One round trip that also says which server answered and whether it is the primary. */
    private FailoverMonitor.Server whoAnswers() throws SQLException {
        if (this.connection == null || this.connection.isClosed()) {
            this.connection = DirectConnections.open(this.dataSource, this.applicationName, this.timeout);
        }
        try (Statement statement = this.connection.createStatement();
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

    private static Result failure(long start, SQLException ex, String where, FailoverMonitor.Server server) {
        return new Result(false, since(start), ex.getSQLState(),
                "SQLSTATE " + ex.getSQLState() + " (" + ex.getClass().getSimpleName() + ")" + where, server);
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
     */
    public record Result(boolean reachable, Duration latency, String sqlState, String error,
            FailoverMonitor.Server server) {

        /** Whether the server refused a new connection because all its slots are taken (53300). */
        public boolean tooManyConnections() {
            return "53300".equals(this.sqlState);
        }

    }

}
