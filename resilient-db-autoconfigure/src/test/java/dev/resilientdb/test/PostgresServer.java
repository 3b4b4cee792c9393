package dev.resilientdb.test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real PostgreSQL server that a test controls: connection details for an application role, a
 * superuser for admin SQL, and real faults (stop, start, restart, hard kill, hang).
 * <p>
 * The application role is {@value #APP_USER} with password {@value #APP_PASSWORD}, owner of the
 * database {@value #APP_DATABASE}; it is not a superuser, so {@code max_connections} exhaustion
 * leaves the reserved superuser slots free for the test's admin connection.
 */
public abstract class PostgresServer implements AutoCloseable {

    public static final String APP_USER = "app";

    public static final String APP_PASSWORD = "app-secret";

    public static final String APP_DATABASE = "app";

    /**
     * Server settings that make the server's log say, to the millisecond, when it began accepting
     * connections: each line starts with the Unix time ({@code %n}), messages are in English.
     */
    protected static final List<String> READY_LOG_SETTINGS = List.of("log_line_prefix=%n:", "lc_messages=C");

    /**
     * A primary's "ready to accept connections", or a hot standby's "ready to accept read-only
     * connections", after any of pg_ctl's progress dots: they share an embedded server's log, and a
     * slow start leaves them at the beginning of the server's line.
     */
    private static final Pattern READY_LINE = Pattern
        .compile("(?m)^\\.*(\\d+)\\.(\\d{3}):LOG:\\s+database system is ready to accept (read-only )?connections");

    private final int port;

    private volatile long acceptingConnectionsSince;

    private volatile Duration lastStartUp = Duration.ZERO;

    protected PostgresServer(int port) {
        this.port = port;
    }

    /**
     * Port the server listens on; it stays the same across stop, start and kill, reserved for the
     * server's life so that no other build takes it while the server is down ({@link PortReservation}).
     */
    public int port() {
        return this.port;
    }

    /** JDBC URL of the application database. */
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + this.port + "/" + APP_DATABASE;
    }

    public String username() {
        return APP_USER;
    }

    public String password() {
        return APP_PASSWORD;
    }

    /**
     * Gives the application role's {@code spring.datasource.*} properties to a property registry,
     * for example {@code database.registerAsDataSource(registry::add)} in a {@code @DynamicPropertySource}.
     */
    public void registerAsDataSource(BiConsumer<String, Supplier<Object>> registry) {
        registry.accept("spring.datasource.url", this::jdbcUrl);
        registry.accept("spring.datasource.username", this::username);
        registry.accept("spring.datasource.password", this::password);
    }

    /** Which implementation runs the server, for the one line each test run prints. */
    public abstract String description();

    protected abstract String superuserName();

    protected abstract String superuserPassword();

    /** Stops the server cleanly (fast shutdown: sessions are terminated with 57P01). */
    public abstract void stop();

    /**
     * Starts the stopped or killed server again on the same port and data, and returns once it
     * answers. Fails, rather than connecting to it, when something else listens on the port.
     */
    public abstract void start();

    /**
     * When the server last began accepting connections, as {@link System#nanoTime()} reads, so
     * that it compares directly with nanoTime stamps a test took; for a server that was stopped or
     * killed, this is the moment it was back.
     * <p>
     * The instant comes from the server itself (its log line "database system is ready to accept
     * connections", millisecond resolution, rounded down), not from when {@link #start()} returned,
     * which is later by however long the harness took to notice. PostgreSQL refuses every session
     * that arrives before that line, so no session, and no commit, began before this instant.
     */
    public long acceptingConnectionsSince() {
        return this.acceptingConnectionsSince;
    }

    /**
     * How long the last {@link #start()} took from its call until the server accepted connections, for
     * a test that must have the server back at a given moment: it starts it this much earlier. Longer
     * on a busy machine, and longer on the first start, which initialises the data directory.
     */
    public Duration lastStartUp() {
        return this.lastStartUp;
    }

    /**
     * Records, at the end of {@link #start()}, when the server logged that it was ready.
     *
     * @param startCalled {@link System#nanoTime()} when {@link #start()} was called
     * @param ready the instant of the server's "ready to accept connections" log line
     */
    protected void recordReady(long startCalled, Instant ready) {
        this.acceptingConnectionsSince = nanoTimeAt(ready);
        this.lastStartUp = Duration.ofNanos(Math.max(0, this.acceptingConnectionsSince - startCalled));
    }

    /** Kills the server hard, as a crash would: no shutdown, sessions see their sockets close. */
    public abstract void kill();

    /** Freezes every server process (SIGSTOP), as a hung server or a stalled network would. */
    public abstract void pause();

    /** Lets a paused server run again. */
    public abstract void resume();

    public void restart() {
        stop();
        start();
    }

    /** A new superuser connection to the application database; the caller closes it. */
    public Connection superuserConnection() throws SQLException {
        return superuserConnection(APP_DATABASE);
    }

    /** A new superuser connection to the given database; the caller closes it. */
    protected Connection superuserConnection(String database) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", superuserName());
        properties.setProperty("password", superuserPassword());
        properties.setProperty("ApplicationName", "resilient-db-test-admin");
        properties.setProperty("connectTimeout", "5");
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + this.port + "/" + database, properties);
    }

    /** A new connection as the application role; the caller closes it. */
    public Connection appConnection() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), APP_USER, APP_PASSWORD);
    }

    /** Runs admin SQL as superuser. */
    public void execute(String sql) {
        try (Connection connection = superuserConnection(); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
        catch (SQLException ex) {
            throw new IllegalStateException("Admin SQL failed: " + sql, ex);
        }
    }

    /** Runs an admin query as superuser and returns the first column of every row as text. */
    public List<String> queryColumn(String sql) {
        try (Connection connection = superuserConnection();
                Statement statement = connection.createStatement();
                ResultSet resultSet = statement.executeQuery(sql)) {
            List<String> values = new ArrayList<>();
            while (resultSet.next()) {
                values.add(resultSet.getString(1));
            }
            return values;
        }
        catch (SQLException ex) {
            throw new IllegalStateException("Admin query failed: " + sql, ex);
        }
    }

    public long queryLong(String sql) {
        return Long.parseLong(queryColumn(sql).get(0));
    }

    /**
     * Makes the server's host-based authentication reject every TCP login of a role, as a missing or
     * rejecting {@code pg_hba.conf} entry does in production (SQLSTATE 28000), and creates the role
     * (password {@code <role>-secret}) if it does not exist. Written with server-side SQL, so that it
     * works for an embedded server and a container alike.
     */
    public void rejectLoginsOf(String role) {
        execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + role + "') THEN CREATE ROLE " + role
                + " LOGIN PASSWORD '" + role + "-secret'; END IF; END $$");
        String rules = "host all " + role + " 127.0.0.1/32 reject\nhost all " + role + " ::1/128 reject\n";
        execute("DO $$ DECLARE current text := pg_read_file(current_setting('hba_file')); BEGIN "
                + "IF position('" + role + " 127.0.0.1/32 reject' IN current) = 0 THEN "
                + "EXECUTE format('COPY (SELECT unnest(string_to_array(%L, E''\\n''))) TO %L', "
                + "replace(E'" + rules + "' || current, E'\\t', ' '), current_setting('hba_file')); END IF; END $$");
        execute("SELECT pg_reload_conf()");
    }

    /** Backend pids of the sessions whose {@code application_name} is the given one. */
    public List<Integer> backendPids(String applicationName) {
        return queryColumn("SELECT pid FROM pg_stat_activity WHERE application_name = '" + applicationName + "'")
            .stream().map(Integer::valueOf).toList();
    }

    /** Terminates every session with the given {@code application_name}; returns how many. */
    public int terminateBackends(String applicationName) {
        return queryColumn("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"
                + applicationName + "' AND pid <> pg_backend_pid()").size();
    }

    /**
     * Terminates one backend, as an administrator or a failover would ({@code pg_terminate_backend},
     * the session sees 57P01), and waits until it is gone.
     */
    public void terminateBackend(int pid) {
        execute("SELECT pg_terminate_backend(" + pid + ")");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!queryColumn("SELECT pid FROM pg_stat_activity WHERE pid = " + pid).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Backend " + pid + " is still running 10 s after pg_terminate_backend");
            }
            sleep(Duration.ofMillis(20));
        }
    }

    /** Waits until the server accepts connections again. */
    protected void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            try (Connection connection = superuserConnection("postgres")) {
                return;
            }
            catch (SQLException ex) {
                last = ex;
                sleep(Duration.ofMillis(100));
            }
        }
        throw new IllegalStateException("PostgreSQL on port " + this.port + " did not accept connections within " + timeout, last);
    }

    /**
     * The instant of the last "ready to accept connections" line in a server log (a hot standby's
     * "ready to accept read-only connections" too), or {@code null}.
     */
    protected static Instant lastReadyInstant(String log) {
        return lastReadyInstant(log, true);
    }

    /**
     * The instant of the last ready line in a server log, or {@code null}; with {@code readOnlyToo}
     * false, only a line that says the server accepts read-write connections (a primary, or a
     * standby once promoted).
     */
    protected static Instant lastReadyInstant(String log, boolean readOnlyToo) {
        Instant last = null;
        Matcher ready = READY_LINE.matcher(log);
        while (ready.find()) {
            if (readOnlyToo || ready.group(3) == null) {
                last = Instant.ofEpochSecond(Long.parseLong(ready.group(1)), Long.parseLong(ready.group(2)) * 1_000_000);
            }
        }
        return last;
    }

    /** The {@link System#nanoTime()} reading of a wall-clock instant of this machine. */
    static long nanoTimeAt(Instant instant) {
        for (int attempt = 0;; attempt++) {
            long before = System.nanoTime();
            Instant now = Instant.now();
            long after = System.nanoTime();
            // Both clocks read within 100 µs of each other, unless the thread keeps being descheduled in between.
            if (after - before < 100_000 || attempt == 100) {
                return before + (after - before) / 2 - Duration.between(instant, now).toNanos();
            }
        }
    }

    /** Creates the application role and database on a freshly initialised server. */
    protected void createApplicationRole() {
        try (Connection connection = superuserConnection("postgres"); Statement statement = connection.createStatement()) {
            statement.execute("CREATE ROLE " + APP_USER + " LOGIN PASSWORD '" + APP_PASSWORD + "'");
            statement.execute("CREATE DATABASE " + APP_DATABASE + " OWNER " + APP_USER);
        }
        catch (SQLException ex) {
            throw new IllegalStateException("Could not create the application role", ex);
        }
    }

    protected static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    @Override
    public abstract void close();
}
