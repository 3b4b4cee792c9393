package dev.resilientdb.sample;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Runs the sample on a random port against the shared real PostgreSQL and talks to it over HTTP,
 * as a client would. Tests use their own account names, so they do not see each other's jobs.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
abstract class SampleHttpTestSupport {

    static final ObjectMapper json = new ObjectMapper();

    static final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        PostgresServer postgres = PostgresServers.shared();
        postgres.registerAsDataSource(registry::add);
    }

    static PostgresServer database() {
        return PostgresServers.shared();
    }

    URI uri(String path) {
        return URI.create("http://localhost:" + this.port + path);
    }

    Response get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    Response postJob(String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri("/api/jobs"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return send(request.build());
    }

    Response send(HttpRequest request) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Response(response);
        }
        catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    static String jobJson(String account, String type) {
        return json.writeValueAsString(new java.util.LinkedHashMap<>(java.util.Map.of("account", account, "type", type)));
    }

    static String newAccount() {
        return "acct-" + UUID.randomUUID();
    }

    /** A response with its body parsed as JSON where it is JSON. */
    record Response(HttpResponse<String> raw) {

        int status() {
            return this.raw.statusCode();
        }

        String header(String name) {
            return this.raw.headers().firstValue(name).orElse(null);
        }

        String contentType() {
            return header("Content-Type");
        }

        String body() {
            return this.raw.body();
        }

        JsonNode json() {
            try {
                return SampleHttpTestSupport.json.readTree(this.raw.body());
            }
            catch (JacksonException ex) {
                throw new IllegalStateException("Not JSON: " + this.raw.body(), ex);
            }
        }

    }

}
