package dev.resilientdb.autoconfigure;

import java.sql.Connection;

import javax.sql.DataSource;

import dev.resilientdb.test.PortReservation;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * Issue 14: a start-up that cannot connect to PostgreSQL ends in one "APPLICATION FAILED TO START"
 * report that names the cause in plain words, the JDBC URL without credentials and the property to
 * check, and never the password; against a real server, with real faults.
 */
@ExtendWith(OutputCaptureExtension.class)
class DatabaseConnectionFailureAnalyzerTests {

    private static final String WRONG_PASSWORD = "wrong-secret-4711";

    private static final String WAIT = "resilient.db.startup.wait-for-database=2s";

    /**
     * Through the pool, the caller waits the connection timeout for the pool's attempt, and only an
     * attempt that has ended by then can be its cause: a JVM's first connection on a loaded 2-core
     * machine (class loading, SCRAM) took over the default 2 s.
     */
    private static final String POOL_WAIT = "resilient.db.pool.connection-timeout=10s";

    private final PostgresServer server = PostgresServers.shared();

    private SpringApplicationBuilder application(String url, String... properties) {
        return new SpringApplicationBuilder(ConnectingApplication.class).web(WebApplicationType.NONE)
            .properties("spring.datasource.url=" + url, "spring.datasource.username=" + this.server.username(),
                    "spring.datasource.password=" + this.server.password(),
                    "resilient.db.driver.application-name=connection-failure-it")
            .properties(properties);
    }

    @Test
    void wrongPasswordNamesTheCredentialsAndNeverThePassword(CapturedOutput output) {
        String url = this.server.jdbcUrl() + "?password=" + WRONG_PASSWORD + "&sslmode=disable";
        assertThatException().isThrownBy(application(url, "spring.datasource.password=" + WRONG_PASSWORD, WAIT)::run);
        assertOneReport(output, "could not connect to PostgreSQL at " + this.server.jdbcUrl() + "?sslmode=disable:",
                "the password was rejected (SQLSTATE 28P01", "password authentication failed for user \"app\"",
                "Check spring.datasource.username and spring.datasource.password");
        assertThat(output).doesNotContain(WRONG_PASSWORD);
    }

    @Test
    void wrongPasswordThroughThePoolAtStartupIsExplainedAlike(CapturedOutput output) {
        assertThatException().isThrownBy(application(this.server.jdbcUrl(), "spring.datasource.password=" + WRONG_PASSWORD,
                POOL_WAIT)::run);
        assertOneReport(output, "the password was rejected (SQLSTATE 28P01",
                "Check spring.datasource.username and spring.datasource.password");
        assertThat(output).doesNotContain(WRONG_PASSWORD);
    }

    @Test
    void unknownDatabaseNamesTheUrl(CapturedOutput output) {
        assertThatException().isThrownBy(application(this.server.jdbcUrl() + "_missing", WAIT)::run);
        assertOneReport(output, "at " + this.server.jdbcUrl() + "_missing:", "the database does not exist (SQLSTATE 3D000",
                "Check the database name at the end of spring.datasource.url");
        assertThat(output).doesNotContain(this.server.password());
    }

    @Test
    void refusedConnectionNamesHostPortAndTheWait(CapturedOutput output) {
        try (PortReservation unused = PortReservation.reserve()) {
            String url = "jdbc:postgresql://localhost:" + unused.port() + "/app";
            assertThatException().isThrownBy(application(url, WAIT)::run);
            assertOneReport(output, "at " + url + ":", "the connection was refused: nothing listens on that host and port",
                    "Start-up waited 2s for it (resilient.db.startup.wait-for-database)",
                    "Check the host and port in spring.datasource.url");
        }
        assertThat(output).doesNotContain(this.server.password());
    }

    @Test
    void refusedConnectionOfAFailFastPoolIsExplainedAlike(CapturedOutput output) {
        try (PortReservation unused = PortReservation.reserve()) {
            String url = "jdbc:postgresql://localhost:" + unused.port() + "/app";
            assertThatException().isThrownBy(application(url, "resilient.db.pool.initialization-fail-timeout=0")::run);
            assertOneReport(output, "the connection was refused", "resilient.db.startup.wait-for-database");
        }
    }

    @Test
    void unknownHostIsNamed(CapturedOutput output) {
        String url = "jdbc:postgresql://database.resilient-db.invalid:5432/app";
        assertThatException().isThrownBy(application(url, WAIT)::run);
        assertOneReport(output, "at " + url + ":", "the host name database.resilient-db.invalid cannot be resolved",
                "Check the host name in spring.datasource.url");
    }

    @Test
    void pgHbaRejectionNamesTheServersAuthenticationRules(CapturedOutput output) {
        this.server.rejectLoginsOf("rejected");
        assertThatException().isThrownBy(application(this.server.jdbcUrl(), "spring.datasource.username=rejected",
                "spring.datasource.password=rejected-secret", WAIT)::run);
        assertOneReport(output, "(pg_hba.conf) does not let this user, database and client address in (SQLSTATE 28000",
                "user \"rejected\"", "a pg_hba.conf entry");
        assertThat(output).doesNotContain("rejected-secret");
    }

    @Test
    void requiredSslThatTheServerLacksIsNamed(CapturedOutput output) {
        String url = this.server.jdbcUrl() + "?sslmode=require";
        assertThatException().isThrownBy(application(url, WAIT)::run);
        assertOneReport(output, "at " + url + ":", "the connection requires SSL", "the server does not offer it",
                "change sslmode in spring.datasource.url");
        assertThat(output).doesNotContain(this.server.password());
    }

    @Test
    void urlLosesUserInformationAndCredentialParameters() {
        assertThat(DatabaseConnectionFailureAnalyzer.withoutCredentials(
                "jdbc:postgresql://app:secret@db:5432/app?user=app&sslmode=require&password=secret&sslpassword=key"))
            .isEqualTo("jdbc:postgresql://db:5432/app?sslmode=require");
    }

    private static void assertOneReport(CapturedOutput output, String... facts) {
        String text = output.toString();
        assertThat(text.split("APPLICATION FAILED TO START", -1)).as(text).hasSize(2);
        assertThat(text.substring(text.indexOf("APPLICATION FAILED TO START"))).contains(facts);
    }

    /** An application whose start-up uses the database, as SQL initialisation, Flyway or JPA would. */
    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration({ DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class })
    static class ConnectingApplication {

        @Bean
        InitializingBean connectsAtStartup(DataSource dataSource) {
            return () -> {
                try (Connection connection = dataSource.getConnection()) {
                    connection.isValid(1);
                }
            };
        }

    }

}
