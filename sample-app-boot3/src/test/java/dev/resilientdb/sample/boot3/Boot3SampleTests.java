package dev.resilientdb.sample.boot3;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Spring Boot 3.5 starter end to end, over HTTP, on a real PostgreSQL of its own: a retried
 * write survives the kill of its session and is stored once; {@code /actuator/health/db} is the
 * starter's; {@code /actuator/dbpool} and the {@code resilientdb_} meters answer.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureObservability(tracing = false)
class Boot3SampleTests {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();

    private static final ObjectMapper json = new ObjectMapper();

    private static PostgresServer database;

    @LocalServerPort
    int port;

    @Autowired
    MeterRegistry meters;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        database = PostgresServers.startDedicated();
        database.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void closeDatabase() {
        if (database != null) {
            database.close();
        }
    }

    @Test
    void writeWhoseSessionIsKilledMidTransactionIsRetriedAndStoredOnce() throws Exception {
        String page = "page-" + UUID.randomUUID();
        database.execute("INSERT INTO page_views (page, views) VALUES ('" + page + "', 0)");
        double successesAfterRetry = retrySuccesses();
        CompletableFuture<HttpResponse<String>> response;
        try (Connection lock = database.appConnection()) {
            lock.setAutoCommit(false);
            try (Statement statement = lock.createStatement()) {
                // The request's transaction inserts its visit, then waits here for the page's row.
                statement.execute("SELECT views FROM page_views WHERE page = '" + page + "' FOR UPDATE");
            }
            response = http.sendAsync(post("/api/pages/" + page + "/visits"), HttpResponse.BodyHandlers.ofString());
            int pid = awaitBackendWaitingForLock();
            database.terminateBackend(pid);
            lock.commit();
        }
        HttpResponse<String> answer = response.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
        assertThat(json.readTree(answer.body()).get("views").asLong()).isEqualTo(1);
        assertThat(database.queryLong("SELECT count(*) FROM visits WHERE page = '" + page + "'")).isEqualTo(1);
        assertThat(database.queryLong("SELECT views FROM page_views WHERE page = '" + page + "'")).isEqualTo(1);
        assertThat(retrySuccesses()).isEqualTo(successesAfterRetry + 1);
    }

    @Test
    void databaseHealthIsTheStartersAndUp() throws Exception {
        HttpResponse<String> response = get("/actuator/health/db");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode health = json.readTree(response.body());
        assertThat(health.get("status").asText()).isEqualTo("UP");
        JsonNode details = health.get("details");
        assertThat(details.get("database").asText()).isEqualTo("PostgreSQL");
        assertThat(details.get("pool").asText()).isEqualTo("boot3-pool");
        assertThat(details.get("reachable").asBoolean()).isTrue();
        assertThat(details.get("connectionAvailable").asBoolean()).isTrue();
        assertThat(details.has("checkLatencyMs")).isTrue();
        assertThat(details.has("circuitBreaker")).isTrue();
    }

    @Test
    void dbpoolEndpointShowsThePoolsStatisticsAndSettings() throws Exception {
        HttpResponse<String> response = get("/actuator/dbpool");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode pool = json.readTree(response.body()).path("pools").path("dataSource");
        assertThat(pool.path("statistics").path("pool").asText()).as(response.body()).isEqualTo("boot3-pool");
        assertThat(pool.path("settings").path("maxSize").asInt()).as(response.body()).isPositive();
        assertThat(pool.path("settings").path("driver").path("ApplicationName").asText()).as(response.body())
            .isEqualTo("sample-app-boot3");
    }

    @Test
    void prometheusExportsTheStartersMeters() throws Exception {
        HttpResponse<String> response = get("/actuator/prometheus");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("resilientdb_retry_attempts_total", "resilientdb_retry_successes_total",
                "resilientdb_circuitbreaker_state", "resilientdb_pool_utilization",
                "hikaricp_connections_max{pool=\"boot3-pool\"");
    }

    private int awaitBackendWaitingForLock() throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> pids = database.queryColumn("SELECT pid FROM pg_stat_activity"
                    + " WHERE application_name = 'sample-app-boot3' AND wait_event_type = 'Lock'");
            if (!pids.isEmpty()) {
                return Integer.parseInt(pids.get(0));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("No session of the application waited for the row lock within " + TIMEOUT);
    }

    private double retrySuccesses() {
        return this.meters.find("resilientdb.retry.successes").counters().stream().mapToDouble(Counter::count).sum();
    }

    private HttpRequest post(String path) {
        return HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.noBody()).build();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + this.port + path);
    }

}
