package dev.resilientdb.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's run command gives no {@code spring.datasource.url}: the sample then starts its own
 * real PostgreSQL and serves the API on it.
 */
class EmbeddedPostgresFallbackTests {

    @Test
    void withoutDatasourceUrlTheSampleRunsOnEmbeddedPostgres() throws Exception {
        Path dataDirectory = Path.of("target", "embedded-fallback-" + UUID.randomUUID()).toAbsolutePath();
        String account = "fallback-" + UUID.randomUUID();
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(SampleApplication.class).run(
                "--server.port=0", "--management.server.port=0", "--sample.embedded-postgres.data-directory=" + dataDirectory)) {
            assertThat(context.getEnvironment().getProperty("spring.datasource.url"))
                .startsWith("jdbc:postgresql://localhost:").endsWith("/sample");
            int port = ((WebServerApplicationContext) context).getWebServer().getPort();
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
        }
        assertThat(dataDirectory.resolve("PG_VERSION")).exists();
        assertThat(Files.exists(dataDirectory.resolve("postmaster.pid"))).as("server stopped with the application").isFalse();
    }

}
