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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.annotation.DirtiesContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The database stopped for real: the API answers 503 with a problem body and {@code Retry-After}
 * (never a stack trace or SQL), readiness goes down while liveness stays up, and the service
 * recovers by itself when the database is back.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        // open-after above the deadline: this is about a caller that ran out of retries, not about fail-fast.
        properties = { "resilient.db.retry.deadline=3s", "resilient.db.retry.max-attempts=3",
                "resilient.db.circuit-breaker.open-after=30s" })
@ExtendWith(OutputCaptureExtension.class)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class DatabaseUnavailableTests {

    private static PostgresServer database;

    private static final HttpClient http = HttpClient.newHttpClient();

    private static final ObjectMapper json = new ObjectMapper();

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        database = PostgresServers.startDedicated();
        database.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void closeDatabase() {
        database.close();
    }

    @Test
    void stoppedDatabaseGivesServiceUnavailableProblemsAndServiceRecoversWhenItIsBack(CapturedOutput output)
            throws Exception {
        String account = "outage-" + UUID.randomUUID();
        assertThat(post(account).statusCode()).isEqualTo(201);
        database.stop();
        try {
            for (HttpResponse<String> response : new HttpResponse[] { post(account),
                    get("/api/accounts/" + account + "/usage"), get("/api/jobs/" + UUID.randomUUID()) }) {
                assertThat(response.statusCode()).as(response.body()).isEqualTo(503);
                assertThat(response.headers().firstValue("Retry-After")).hasValueSatisfying(
                        (seconds) -> assertThat(Integer.parseInt(seconds)).isPositive());
                assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
                JsonNode problem = json.readTree(response.body());
                assertThat(problem.get("status").asInt()).isEqualTo(503);
                assertThat(response.body()).doesNotContain("Exception", "SELECT", "INSERT", "jdbc:", "\tat ");
            }
            assertThat(management("/actuator/health/readiness").statusCode()).isEqualTo(503);
            assertThat(management("/actuator/health/liveness").statusCode()).isEqualTo(200);
        }
        finally {
            database.start();
        }
        assertThat(output).contains("Answering 503, database unavailable").doesNotContain(PostgresServer.APP_PASSWORD);
        assertThat(output.getAll().lines().filter((line) -> line.contains("ProblemResponses")))
            .allSatisfy((line) -> assertThat(line).doesNotContain("INSERT", "SELECT", "jdbc:"));

        HttpResponse<String> recovered = awaitCreated(account, Duration.ofSeconds(30));
        assertThat(recovered.statusCode()).isEqualTo(201);
        assertThat(json.readTree(get("/api/accounts/" + account + "/usage").body()).get("jobs").asLong()).isEqualTo(2);
        assertThat(management("/actuator/health/readiness").statusCode()).isEqualTo(200);
    }

    private HttpResponse<String> awaitCreated(String account, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpResponse<String> response = post(account);
        while (response.statusCode() != 201 && System.nanoTime() < deadline) {
            Thread.sleep(500);
            response = post(account);
        }
        return response;
    }

    private HttpResponse<String> post(String account) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + this.port + "/api/jobs"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"render\"}"))
            .build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> management(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + this.managementPort + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + this.port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

}
