package dev.resilientdb.sample;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.apache.commons.logging.Log;
import org.springframework.boot.logging.DeferredLogFactory;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.util.StringUtils;

/**
 * Starts a real PostgreSQL from Maven Central binaries when no {@code spring.datasource.url} is
 * given, so that the sample runs on a machine with only a JDK and Maven. Its data lives under
 * {@code java.io.tmpdir/resilient-db-sample} and survives restarts of the sample. Any configured
 * URL (a real database) turns this off.
 */
class EmbeddedPostgresForDevelopment implements EnvironmentPostProcessor {

    private static final String USER = "sample";

    private static final String PASSWORD = "sample";

    private static final String DATABASE = "sample";

    private final Log logger;

    EmbeddedPostgresForDevelopment(DeferredLogFactory logFactory) {
        this.logger = logFactory.getLog(EmbeddedPostgresForDevelopment.class);
    }

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (StringUtils.hasText(environment.getProperty("spring.datasource.url"))) {
            return;
        }
        try {
            Path dataDirectory = Path.of(System.getProperty("java.io.tmpdir"), "resilient-db-sample", "data");
            Files.createDirectories(dataDirectory);
            int port = freePort();
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                .setDataDirectory(dataDirectory)
                .setCleanDataDirectory(false)
                .setPort(port)
                .start();
            createDatabase(postgres);
            String url = "jdbc:postgresql://localhost:" + port + "/" + DATABASE;
            environment.getPropertySources().addFirst(new MapPropertySource("embeddedPostgres", Map.of(
                    "spring.datasource.url", url, "spring.datasource.username", USER,
                    "spring.datasource.password", PASSWORD)));
            this.logger.info("No spring.datasource.url given: started embedded PostgreSQL at " + url + " (data in "
                    + dataDirectory + ")");
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Could not start the embedded PostgreSQL for the sample", ex);
        }
    }

    private static void createDatabase(EmbeddedPostgres postgres) {
        try (Connection connection = postgres.getPostgresDatabase().getConnection();
                Statement statement = connection.createStatement()) {
            try (ResultSet exists = statement.executeQuery("SELECT 1 FROM pg_roles WHERE rolname = '" + USER + "'")) {
                if (exists.next()) {
                    return;
                }
            }
            statement.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'");
            statement.execute("CREATE DATABASE " + DATABASE + " OWNER " + USER);
        }
        catch (SQLException ex) {
            throw new IllegalStateException("Could not create the sample database", ex);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

}
