package dev.resilientdb.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;

import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The development launcher of {@code mvn spring-boot:test-run}: without {@code spring.datasource.url}
 * the sample runs on its own embedded PostgreSQL, and stopping it is a normal end for Maven.
 */
class TestSampleApplicationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withUserConfiguration(EmbeddedPostgresForDevelopment.class);

    @Test
    void withoutDatasourceUrlTheSampleRunsOnEmbeddedPostgresAndSigtermEndsItNormally() throws Exception {
        Path dataDirectory = Path.of("target", "embedded-development-" + UUID.randomUUID()).toAbsolutePath();
        String account = "development-" + UUID.randomUUID();
        try (SampleProcess sample = SampleProcess.start(Path.of("target", "test-sample-application.log"), Map.of(),
                "-cp", System.getProperty("java.class.path"), TestSampleApplication.class.getName(),
                "--server.port=0", "--management.server.port=0",
                "--sample.embedded-postgres.data-directory=" + dataDirectory)) {
            int port = sample.awaitApiPort(Duration.ofSeconds(180));
            assertThat(sample.output()).contains("No spring.datasource.url given: started embedded PostgreSQL at");
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"render\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).isEqualTo(201);
            HttpResponse<String> usage = http.send(
                    HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/accounts/" + account + "/usage")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(usage.body()).contains("\"jobs\":1");

            // What `kill`, an IDE's stop button, or the Maven plugin after an unanswered Ctrl-C sends.
            int exitCode = sample.stop(Duration.ofSeconds(120));
            // Spring Boot's Maven plugin takes 0 and 130 (Ctrl-C) for a normal end, anything else is BUILD FAILURE.
            assertThat(exitCode).as("exit code after SIGTERM").isIn(0, 130);
            assertThat(sample.output()).contains("Graceful shutdown complete");
        }
        assertThat(dataDirectory.resolve("PG_VERSION")).exists();
        assertThat(Files.exists(dataDirectory.resolve("postmaster.pid"))).as("server stopped with the application").isFalse();
    }

    @Test
    void aConfiguredDatasourceUrlTurnsTheEmbeddedPostgresOff() {
        this.contextRunner.withPropertyValues("spring.datasource.url=jdbc:postgresql://db.example.com:5432/app")
            .run((context) -> assertThat(context).doesNotHaveBean(EmbeddedPostgres.class)
                .doesNotHaveBean(JdbcConnectionDetails.class));
    }

}
