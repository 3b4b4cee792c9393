package dev.resilientdb.actuate;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import dev.resilientdb.actuate.ActuatorTestApplication.Answer;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 19, point 5: health, the {@code dbpool} endpoint and the meters show the database's state
 * and since when, over real HTTP, with a dedicated PostgreSQL really stopped and started, and no
 * application traffic at all: the health check's own failure is the evidence.
 */
@SpringBootTest(classes = ActuatorTestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "resilient.db.pool.max-size=3", "resilient.db.pool.connection-timeout=500ms", "resilient.db.pool.validation-timeout=250ms",
                "resilient.db.driver.application-name=state-http-it", "resilient.db.circuit-breaker.open-after=1s",
                "management.endpoints.web.exposure.include=health,metrics,prometheus,dbpool",
                "management.endpoint.health.show-details=always" })
@AutoConfigureMetrics
@DirtiesContext
class DatabaseStateOverHttpTests {

    private static final PostgresServer server = PostgresServers.startDedicated();

    private final ObjectMapper json = new ObjectMapper();

    @LocalServerPort
    private int port;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", server::jdbcUrl);
        registry.add("spring.datasource.username", server::username);
        registry.add("spring.datasource.password", server::password);
    }

    @AfterAll
    static void closeServer() {
        server.close();
    }

    @Test
    void healthDbpoolAndMetersSayUnreachableSinceTheOutageBeganAndUpOnceItEnds() throws Exception {
        JsonNode before = health();
        assertThat(before.path("details").path("state").asText()).isEqualTo("up");
        assertThat(before.path("details").path("failingFast").asBoolean()).isFalse();
        Instant stopping = Instant.now();
        server.stop();
        Instant stopped = Instant.now();
        try {
            // The first failed check is evidence; the state's probe confirms it and, after open-after, fails calls fast.
            JsonNode down = awaitHealth(health -> health.path("details").path("failingFast").asBoolean(), Duration.ofSeconds(30));
            assertThat(down.path("status").asText()).isEqualTo("DOWN");
            assertThat(down.path("details").path("state").asText()).isEqualTo("unreachable");
            assertThat(down.path("details").path("stateReason").asText()).contains("08001");
            Instant since = Instant.parse(down.path("details").path("stateSince").asText());
            // The first evidence: the first health check after the stop (the test's own polling).
            assertThat(since).as("since, server stopped between %s and %s", stopping, stopped).isAfter(stopping)
                .isBefore(stopped.plusSeconds(5));
            JsonNode pool = this.json.readTree(ActuatorTestApplication.get(this.port, "/actuator/dbpool").body())
                .path("pools").path("dataSource").path("database");
            assertThat(pool.path("state").asText()).isEqualTo("unreachable");
            assertThat(pool.path("since").asText()).isEqualTo(since.toString());
            assertThat(pool.path("failingFast").asBoolean()).isTrue();
            String scrape = ActuatorTestApplication.get(this.port, "/actuator/prometheus").body();
            assertThat(scrape).containsPattern("resilientdb_database_state\\{[^}]*state=\"unreachable\"[^}]*} 1\\.0")
                .containsPattern("resilientdb_database_state\\{[^}]*state=\"up\"[^}]*} 0\\.0")
                .contains("resilientdb_database_state_duration_seconds");
        }
        finally {
            server.start();
        }
        JsonNode up = awaitHealth(health -> "up".equals(health.path("details").path("state").asText()), Duration.ofSeconds(30));
        assertThat(up.path("status").asText()).isEqualTo("UP");
        assertThat(up.path("details").path("failingFast").asBoolean()).isFalse();
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/prometheus").body())
            .containsPattern("resilientdb_database_state\\{[^}]*state=\"up\"[^}]*} 1\\.0");
    }

    private JsonNode health() throws Exception {
        Answer answer = ActuatorTestApplication.get(this.port, "/actuator/health/db");
        return this.json.readTree(answer.body());
    }

    private JsonNode awaitHealth(Predicate<JsonNode> condition, Duration atMost) throws Exception {
        long giveUpAt = System.nanoTime() + atMost.toNanos();
        JsonNode health = health();
        while (!condition.test(health) && System.nanoTime() < giveUpAt) {
            Thread.sleep(100);
            health = health();
        }
        assertThat(condition.test(health)).as("health within %s: %s", atMost, health).isTrue();
        return health;
    }

}
