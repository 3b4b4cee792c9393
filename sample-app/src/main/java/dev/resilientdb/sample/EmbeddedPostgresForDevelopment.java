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
import java.util.Set;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.commons.logging.Log;

import org.springframework.beans.factory.support.DefaultSingletonBeanRegistry;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.logging.DeferredLogFactory;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.PropertySource;
import org.springframework.util.StringUtils;

/**
 * Starts a real PostgreSQL from Maven Central binaries when no {@code spring.datasource.url} is
 * given, so that the sample runs on a machine with only a JDK and Maven. Its data lives under
 * {@code java.io.tmpdir/resilient-db-sample} (or {@value #DATA_DIRECTORY_PROPERTY}) and survives
 * restarts of the sample. Any configured
 * URL (a real database) turns this off.
 */
class EmbeddedPostgresForDevelopment implements EnvironmentPostProcessor {

    /** Where the embedded server keeps its data; defaults to a directory under java.io.tmpdir. */
    static final String DATA_DIRECTORY_PROPERTY = "sample.embedded-postgres.data-directory";

    private static final Set<String> CONNECTION_PROPERTIES = Set.of("spring.datasource.url",
            "spring.datasource.username", "spring.datasource.password");

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
        // Last and lazy: the server starts only when the connection settings are looked up and no
        // other source has them (a test's @DynamicPropertySource, added after this runs, wins).
        LazyEmbeddedPostgres embeddedPostgres = new LazyEmbeddedPostgres(environment, this.logger);
        environment.getPropertySources().addLast(embeddedPostgres);
        // Registered before any bean, so it is destroyed after all of them: the pool closes first.
        application.addInitializers((context) -> {
            if (context.getBeanFactory() instanceof DefaultSingletonBeanRegistry registry) {
                registry.registerDisposableBean("embeddedPostgresForDevelopment", embeddedPostgres::close);
            }
        });
    }

    private static final class LazyEmbeddedPostgres extends PropertySource<Object> {

        private final ConfigurableEnvironment environment;

        private final Log logger;

        private Map<String, String> connectionProperties;

        private EmbeddedPostgres postgres;

        LazyEmbeddedPostgres(ConfigurableEnvironment environment, Log logger) {
            super("embeddedPostgresForDevelopment");
            this.environment = environment;
            this.logger = logger;
        }

        @Override
        public Object getProperty(String name) {
            if (!CONNECTION_PROPERTIES.contains(name)) {
                return null;
            }
            return connectionProperties().get(name);
        }

        private synchronized Map<String, String> connectionProperties() {
            if (this.connectionProperties == null) {
                this.connectionProperties = start();
            }
            return this.connectionProperties;
        }

        synchronized void close() throws IOException {
            if (this.postgres != null) {
                this.postgres.close();
                this.postgres = null;
                this.connectionProperties = null;
            }
        }

        private Map<String, String> start() {
            try {
                String configured = this.environment.getProperty(DATA_DIRECTORY_PROPERTY);
                Path dataDirectory = StringUtils.hasText(configured) ? Path.of(configured)
                        : Path.of(System.getProperty("java.io.tmpdir"), "resilient-db-sample", "data");
                Files.createDirectories(dataDirectory);
                int port = freePort();
                this.postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    // Stopped by the application context, after the pool has closed, not by its own hook.
                    .setRegisterShutdownHook(false)
                    // embedded-postgres turns synchronous_commit off for speed; a 201 must mean the job is stored.
                    .setServerConfig("synchronous_commit", "on")
                    .start();
                createDatabase(this.postgres);
                String url = "jdbc:postgresql://localhost:" + port + "/" + DATABASE;
                this.logger.info("No spring.datasource.url given: started embedded PostgreSQL at " + url
                        + " (data in " + dataDirectory + ")");
                return Map.of("spring.datasource.url", url, "spring.datasource.username", USER,
                        "spring.datasource.password", PASSWORD);
            }
            catch (IOException ex) {
                throw new UncheckedIOException("Could not start the embedded PostgreSQL for the sample", ex);
            }
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
