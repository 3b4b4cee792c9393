package dev.resilientdb.test;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A real PgBouncer process in front of a {@link PostgresServer}, for tests of the starter behind a
 * pooler. It writes an ini file and a user list into a temporary directory, listens on a free port
 * of 127.0.0.1 ({@link PortReservation}), and can be stopped, started and restarted on that same port. PgBouncer refuses to
 * run as root, so under root it is started with {@code -u nobody}.
 * <p>
 * Clients log in as the server's application role ({@link PostgresServer#APP_USER}, SCRAM) to the
 * database {@link PostgresServer#APP_DATABASE}. When PgBouncer is not installed, {@link #start} fails
 * (it never skips) and says how to install it.
 */
public final class PgBouncer implements AutoCloseable {

    /** PgBouncer's {@code pool_mode}. */
    public enum PoolMode {

        SESSION, TRANSACTION;

        String iniValue() {
            return name().toLowerCase(Locale.ROOT);
        }

    }

    private static final String UNPRIVILEGED_USER = "nobody";

    private static final List<String> SEARCH_PATH = List.of("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin");

    private final PostgresServer server;

    private final PoolMode mode;

    private final int poolSize;

    private final Path directory;

    private final PortReservation reservation;

    private final int port;

    private final List<String> extraSettings;

    private Process process;

    private PgBouncer(PostgresServer server, PoolMode mode, int poolSize, Path directory, PortReservation reservation,
            List<String> extraSettings) {
        this.server = server;
        this.mode = mode;
        this.poolSize = poolSize;
        this.directory = directory;
        this.reservation = reservation;
        this.port = reservation.port();
        this.extraSettings = extraSettings;
    }

    /**
     * Starts PgBouncer in front of the server, with at most {@code poolSize} server connections.
     * @throws IllegalStateException when PgBouncer is not installed or does not start
     */
    public static PgBouncer start(PostgresServer server, PoolMode mode, int poolSize) {
        return start(server, mode, poolSize, new String[0]);
    }

    /**
     * Starts PgBouncer as {@link #start(PostgresServer, PoolMode, int)} does, with more lines for the
     * {@code [pgbouncer]} section of its ini file; a setting given here overrides the harness's.
     */
    public static PgBouncer start(PostgresServer server, PoolMode mode, int poolSize, String... extraSettings) {
        String executable = executable();
        // Reserved for PgBouncer's whole life, so that no other build takes the port while it restarts.
        PortReservation reservation = PortReservation.reserve();
        try {
            Path directory = Files.createTempDirectory("resilient-db-pgbouncer-");
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            PgBouncer pgBouncer = new PgBouncer(server, mode, poolSize, directory, reservation, List.of(extraSettings));
            pgBouncer.writeConfiguration();
            pgBouncer.start(executable);
            return pgBouncer;
        }
        catch (IOException ex) {
            reservation.close();
            throw new UncheckedIOException(ex);
        }
        catch (RuntimeException ex) {
            reservation.close();
            throw ex;
        }
    }

    public int port() {
        return this.port;
    }

    public PoolMode mode() {
        return this.mode;
    }

    /** JDBC URL of the application database through PgBouncer. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + this.port + "/" + PostgresServer.APP_DATABASE;
    }

    /** The server behind PgBouncer. */
    public PostgresServer server() {
        return this.server;
    }

    /** Gives {@code spring.datasource.*} for the application role through PgBouncer to a property registry. */
    public void registerAsDataSource(BiConsumer<String, Supplier<Object>> registry) {
        registry.accept("spring.datasource.url", this::jdbcUrl);
        registry.accept("spring.datasource.username", () -> PostgresServer.APP_USER);
        registry.accept("spring.datasource.password", () -> PostgresServer.APP_PASSWORD);
    }

    /** {@code spring.datasource.*} for the application role through PgBouncer, as {@code key=value} pairs. */
    public String[] dataSourceProperties() {
        return new String[] { "spring.datasource.url=" + jdbcUrl(), "spring.datasource.username=" + PostgresServer.APP_USER,
                "spring.datasource.password=" + PostgresServer.APP_PASSWORD };
    }

    /** Starts the stopped PgBouncer again on the same port. */
    public synchronized void start() {
        start(executable());
    }

    /** Stops PgBouncer at once (SIGTERM, its "immediate shutdown"): every client connection is closed. */
    public synchronized void stop() {
        if (this.process == null) {
            return;
        }
        this.process.destroy();
        try {
            if (!this.process.waitFor(10, TimeUnit.SECONDS)) {
                this.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
        finally {
            this.process = null;
        }
    }

    public void restart() {
        stop();
        start();
    }

    /** PgBouncer's own log so far, for failure messages. */
    public String log() {
        try {
            return Files.readString(logFile());
        }
        catch (IOException ex) {
            return "(no log: " + ex.getMessage() + ")";
        }
    }

    @Override
    public synchronized void close() {
        try {
            stop();
            try (Stream<Path> paths = Files.walk(this.directory)) {
                paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
            catch (IOException ex) {
                // Left for the OS to clean up with the rest of the temporary directory.
            }
        }
        finally {
            this.reservation.close();
        }
    }

    private void writeConfiguration() throws IOException {
        Path users = this.directory.resolve("userlist.txt");
        Files.writeString(users, "\"" + PostgresServer.APP_USER + "\" \"" + PostgresServer.APP_PASSWORD + "\"\n");
        String ini = String.join("\n",
                "[databases]",
                PostgresServer.APP_DATABASE + " = host=127.0.0.1 port=" + this.server.port() + " dbname="
                        + PostgresServer.APP_DATABASE,
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                "listen_port = " + this.port,
                "unix_socket_dir =",
                "auth_type = scram-sha-256",
                "auth_file = " + users,
                "pool_mode = " + this.mode.iniValue(),
                "default_pool_size = " + this.poolSize,
                "max_client_conn = 200",
                // A restarted server is tried again after 1 s instead of PgBouncer's default 15 s.
                "server_login_retry = 1",
                String.join("\n", this.extraSettings),
                "");
        Files.writeString(iniFile(), ini);
        for (Path file : List.of(users, iniFile())) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    private synchronized void start(String executable) {
        if (this.process != null) {
            return;
        }
        List<String> command = new ArrayList<>(List.of(executable));
        if ("root".equals(System.getProperty("user.name"))) {
            command.addAll(List.of("-u", UNPRIVILEGED_USER));
        }
        command.add(iniFile().toString());
        try {
            this.process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .start();
        }
        catch (IOException ex) {
            throw new IllegalStateException("Could not start " + String.join(" ", command), ex);
        }
        awaitListening(Duration.ofSeconds(20));
    }

    private void awaitListening(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!this.process.isAlive()) {
                this.process = null;
                throw new IllegalStateException("PgBouncer exited at start-up; its log:\n" + log());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", this.port), 1000);
                return;
            }
            catch (IOException ex) {
                PostgresServer.sleep(Duration.ofMillis(50));
            }
        }
        stop();
        throw new IllegalStateException("PgBouncer did not listen on port " + this.port + " within " + timeout
                + "; its log:\n" + log());
    }

    private Path iniFile() {
        return this.directory.resolve("pgbouncer.ini");
    }

    private Path logFile() {
        return this.directory.resolve("pgbouncer.log");
    }

    private static String executable() {
        List<String> directories = new ArrayList<>(SEARCH_PATH);
        String path = System.getenv("PATH");
        if (path != null) {
            directories.addAll(0, List.of(path.split(File.pathSeparator)));
        }
        for (String directory : directories) {
            Path candidate = Path.of(directory, "pgbouncer");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new IllegalStateException("PgBouncer is not installed, and the tests behind a pooler need it: run the "
                + "tests with scripts/test, which installs it, or install it yourself (Debian/Ubuntu: "
                + "sudo apt-get install -y pgbouncer; macOS: brew install pgbouncer). Searched PATH and " + SEARCH_PATH);
    }

}
