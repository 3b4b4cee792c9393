package dev.resilientdb.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * A real PostgreSQL primary with a real streaming standby, for failover tests: two embedded servers
 * ({@link EmbeddedPostgresServer}, each with its own reserved port and directory), the standby made
 * as {@code pg_basebackup} would make it from a cleanly stopped primary: a copy of its data directory,
 * {@code standby.signal}, and {@code primary_conninfo} in {@code postgresql.auto.conf}.
 * <p>
 * With {@link Replication#SYNCHRONOUS} the primary acknowledges a commit only once the standby has
 * flushed it ({@code synchronous_commit=on}, {@code synchronous_standby_names='*'}), so every
 * acknowledged commit survives a hard kill of the primary followed by a promotion; with
 * {@link Replication#ASYNCHRONOUS} the last acknowledged commits can be lost that way. A promoted
 * standby runs asynchronously (it has no standby of its own until {@link #rejoinAsStandby} gives it one),
 * so that it keeps accepting writes alone, as a cluster manager's non-strict synchronous mode does; once a
 * standby rejoins, the pair is synchronous again.
 * <p>
 * The roles move: {@link #primary()} is whichever server is primary now. Always embedded, even where a
 * Docker engine answers, because the harness must copy data directories and write signal files.
 */
public final class StreamingReplica implements AutoCloseable {

    /** Whether the primary waits for the standby before acknowledging a commit. */
    public enum Replication {

        SYNCHRONOUS, ASYNCHRONOUS

    }

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final Replication replication;

    private final EmbeddedPostgresServer first;

    private final EmbeddedPostgresServer second;

    private volatile EmbeddedPostgresServer primary;

    private volatile EmbeddedPostgresServer standby;

    /** Whether the primary now waits for its standby before acknowledging a commit. */
    private volatile boolean synchronousNow;

    private StreamingReplica(Replication replication, EmbeddedPostgresServer first, EmbeddedPostgresServer second) {
        this.replication = replication;
        this.first = first;
        this.second = second;
        this.primary = first;
        this.standby = second;
        this.synchronousNow = replication == Replication.SYNCHRONOUS;
    }

    /**
     * Starts a primary with the application role and database ({@link PostgresServer#APP_USER}), makes a
     * standby from a copy of its data, starts both, and returns once the standby streams (and, when
     * synchronous, is the primary's synchronous standby).
     */
    public static StreamingReplica start(Replication replication) {
        EmbeddedPostgresServer primary = EmbeddedPostgresServer.startNew();
        EmbeddedPostgresServer standby = null;
        try {
            primary.stop();
            standby = EmbeddedPostgresServer.copyOf(primary);
            StreamingReplica pair = new StreamingReplica(replication, primary, standby);
            if (replication == Replication.SYNCHRONOUS) {
                // After the copy: the standby, once promoted, must not wait for a standby it does not have.
                writeAutoConf(primary, "synchronous_standby_names", "*");
            }
            primary.start();
            pair.followAsStandby(standby, primary);
            standby.start();
            pair.awaitStreaming();
            return pair;
        }
        catch (RuntimeException ex) {
            primary.close();
            if (standby != null) {
                standby.close();
            }
            throw ex;
        }
    }

    /** The server that is primary now. */
    public PostgresServer primary() {
        return this.primary;
    }

    /** The server that streams from the primary now, or {@code null} while there is none. */
    public PostgresServer standby() {
        return this.standby;
    }

    /** The primary the pair started with. */
    public PostgresServer first() {
        return this.first;
    }

    /** The standby the pair started with. */
    public PostgresServer second() {
        return this.second;
    }

    /**
     * Multi-host JDBC URL of the application database over both servers, in the order they started
     * as primary and standby, with {@code targetServerType=primary} and {@code hostRecheckSeconds=1}
     * (pgjdbc's default of 10 s would keep a promoted standby marked "secondary" for that long).
     */
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + this.first.port() + ",localhost:" + this.second.port() + "/"
                + PostgresServer.APP_DATABASE + "?targetServerType=primary&hostRecheckSeconds=1";
    }

    /** Gives the multi-host {@code spring.datasource.*} properties to a property registry. */
    public void registerAsDataSource(BiConsumer<String, Supplier<Object>> registry) {
        registry.accept("spring.datasource.url", this::jdbcUrl);
        registry.accept("spring.datasource.username", () -> PostgresServer.APP_USER);
        registry.accept("spring.datasource.password", () -> PostgresServer.APP_PASSWORD);
    }

    /**
     * Promotes the standby ({@code pg_promote}, as {@code pg_ctl promote} does) and returns, on the
     * {@link System#nanoTime()} clock, the instant its log says it accepts read-write connections: no
     * write can have reached it before. The old primary, whatever its state, is no longer {@link #primary()}.
     */
    public synchronized long promoteStandby() {
        EmbeddedPostgresServer promoted = requireStandby();
        long logStart = promoted.logSize();
        List<String> done = promoted.queryColumn("SELECT pg_promote(true, " + TIMEOUT.toSeconds() + ")");
        if (!"t".equals(done.get(0))) {
            throw new IllegalStateException("pg_promote on port " + promoted.port() + " did not finish within " + TIMEOUT);
        }
        long readWrite = promoted.awaitReadWriteReadyLine(logStart, TIMEOUT);
        this.primary = promoted;
        this.standby = null;
        this.synchronousNow = false;
        return readWrite;
    }

    /**
     * Waits until the standby has replayed everything the primary had written when this was called, so
     * that a clean switchover loses nothing and a test can read a row on the standby.
     */
    public void awaitReplayed() {
        EmbeddedPostgresServer standby = requireStandby();
        String written = this.primary.queryColumn("SELECT pg_current_wal_lsn()").get(0);
        awaitTrue(standby, "SELECT pg_last_wal_replay_lsn() >= '" + written + "'::pg_lsn",
                "the standby on port " + standby.port() + " to replay the primary's WAL up to " + written);
    }

    /**
     * Starts the stopped (or killed) former primary again as a standby of the current primary:
     * {@code standby.signal}, {@code primary_conninfo} to the new primary, the latest timeline. Returns
     * once it streams from the new primary, which then, for {@link Replication#SYNCHRONOUS}, waits for it
     * again before acknowledging a commit. A server killed hard may have flushed WAL that never reached
     * the promoted standby; its timeline then diverged, it cannot follow (PostgreSQL needs {@code pg_rewind}
     * or a new copy), and this fails after waiting for it to stream. (In three runs of a primary killed
     * under synchronous write load it could follow each time; a test that needs the killed primary back
     * for certain uses {@link #startReadOnly}.)
     */
    public synchronized void rejoinAsStandby(PostgresServer server) {
        EmbeddedPostgresServer rejoining = own(server);
        if (rejoining == this.primary || rejoining.running()) {
            throw new IllegalStateException("Only a stopped former primary can rejoin as standby");
        }
        followAsStandby(rejoining, this.primary);
        rejoining.start();
        this.standby = rejoining;
        awaitStreaming();
        if (this.replication == Replication.SYNCHRONOUS) {
            this.primary.execute("ALTER SYSTEM SET synchronous_standby_names = '*'");
            this.primary.execute("SELECT pg_reload_conf()");
            this.synchronousNow = true;
            awaitStreaming();
        }
    }

    /**
     * Starts the stopped (or killed) former primary again as a server that refuses every write with
     * SQLSTATE 25006 ({@code default_transaction_read_only=on}): a demoted primary that is reachable and
     * refuses writes whether or not its timeline diverged from the new primary's, which a hard kill can
     * cause. It is not a standby and does not replicate.
     */
    public synchronized void startReadOnly(PostgresServer server) {
        EmbeddedPostgresServer demoted = own(server);
        if (demoted == this.primary || demoted.running()) {
            throw new IllegalStateException("Only a stopped former primary can come back read-only");
        }
        writeAutoConf(demoted, "default_transaction_read_only", "on");
        demoted.start();
    }

    /**
     * Makes the running primary refuse writes while it keeps its sessions: {@code default_transaction_read_only}
     * by {@code ALTER SYSTEM} and a reload, as a cluster manager fences a primary it demotes without
     * stopping it. Every open session's next transaction is read-only: writes fail with SQLSTATE 25006.
     * The server stays {@link #primary()} until {@link #promoteStandby()}.
     */
    public void fencePrimary() {
        this.primary.execute("ALTER SYSTEM SET default_transaction_read_only = on");
        this.primary.execute("SELECT pg_reload_conf()");
        awaitTrue(this.primary, "SELECT current_setting('default_transaction_read_only') = 'on'",
                "the primary on port " + this.primary.port() + " to reload default_transaction_read_only");
    }

    /** Waits until the standby streams from the primary (and is its synchronous standby when synchronous). */
    public void awaitStreaming() {
        EmbeddedPostgresServer standby = requireStandby();
        String condition = "SELECT count(*) > 0 FROM pg_stat_replication WHERE application_name = '"
                + walReceiverName(standby) + "' AND state = 'streaming'"
                + (this.synchronousNow ? " AND sync_state = 'sync'" : "");
        awaitTrue(this.primary, condition, "the standby on port " + standby.port() + " to stream from the primary on port "
                + this.primary.port());
    }

    @Override
    public void close() {
        try {
            this.first.close();
        }
        finally {
            this.second.close();
        }
    }

    private void followAsStandby(EmbeddedPostgresServer follower, EmbeddedPostgresServer leader) {
        writeAutoConf(follower, "primary_conninfo", "host=127.0.0.1 port=" + leader.port() + " user=postgres application_name="
                + walReceiverName(follower));
        writeAutoConf(follower, "recovery_target_timeline", "latest");
        writeAutoConf(follower, "default_transaction_read_only", null);
        // Were it promoted later, it would otherwise wait for a standby it may not have.
        writeAutoConf(follower, "synchronous_standby_names", null);
        try {
            Files.writeString(follower.dataDirectory().resolve("standby.signal"), "");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String walReceiverName(EmbeddedPostgresServer server) {
        return "standby_" + server.port();
    }

    /**
     * Sets (or, with a {@code null} value, removes) a setting in {@code postgresql.auto.conf} of a stopped
     * server, where {@code ALTER SYSTEM} keeps it: it takes effect at the next start.
     */
    private static void writeAutoConf(EmbeddedPostgresServer server, String name, String value) {
        Path autoConf = server.dataDirectory().resolve("postgresql.auto.conf");
        try {
            List<String> lines = Files.exists(autoConf) ? Files.readAllLines(autoConf) : List.of();
            String kept = lines.stream()
                .filter(line -> !line.trim().startsWith(name + " ") && !line.trim().startsWith(name + "="))
                .collect(Collectors.joining("\n"));
            String setting = (value != null) ? name + " = '" + value.replace("'", "''") + "'\n" : "";
            Files.writeString(autoConf, (kept.isEmpty() ? "" : kept + "\n") + setting);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private EmbeddedPostgresServer requireStandby() {
        EmbeddedPostgresServer standby = this.standby;
        if (standby == null) {
            throw new IllegalStateException("The pair has no standby now");
        }
        return standby;
    }

    private EmbeddedPostgresServer own(PostgresServer server) {
        if (server != this.first && server != this.second) {
            throw new IllegalArgumentException("Not a server of this pair: " + server.description());
        }
        return (EmbeddedPostgresServer) server;
    }

    private static void awaitTrue(PostgresServer server, String query, String what) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                if ("t".equals(server.queryColumn(query).get(0))) {
                    return;
                }
            }
            catch (RuntimeException ex) {
                last = ex;
            }
            PostgresServer.sleep(Duration.ofMillis(50));
        }
        throw new IllegalStateException("Waited " + TIMEOUT.toSeconds() + " s for " + what, last);
    }

}
