package dev.resilientdb.actuate;

import java.time.Duration;

import tools.jackson.databind.ObjectMapper;
import dev.resilientdb.actuate.ActuatorTestApplication.Answer;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kubernetes probes over real HTTP while the database goes away and comes back: readiness follows
 * the database, liveness does not, and no application restart is needed.
 */
@SpringBootTest(classes = ActuatorTestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "resilient.db.health.timeout=800ms", "resilient.db.driver.application-name=probes-http-it",
                "management.endpoint.health.show-details=always" })
@DirtiesContext
class ProbesOverHttpTests {

    private static final Duration HEALTH_TIMEOUT = Duration.ofMillis(800);

    /** HTTP and scheduling on a busy 2-core machine, on top of the bound under test. */
    private static final Duration HTTP_MARGIN = Duration.ofMillis(500);

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

    /**
     * The first request initializes Spring MVC and the health endpoint, and the first check opens the
     * probe's own connection (start-up costs that Kubernetes' startup probe absorbs), which takes
     * seconds on a loaded machine; the bounds below are about a running application.
     */
    @BeforeEach
    void warmUp() {
        ActuatorTestApplication.get(this.port, "/actuator/health/db");
    }

    @AfterAll
    static void closeServer() {
        server.close();
    }

    @Test
    void stoppedDatabaseTakesReadinessDownButNotLivenessAndItsReturnBringsReadinessBackWithoutRestart() throws Exception {
        // The first request initialises the web stack (dispatcher, JSON); on a loaded machine that alone
        // took over the bound, which is about the database check.
        ActuatorTestApplication.get(this.port, "/actuator/health/liveness");
        assertThat(bounded("/actuator/health/db").status()).isEqualTo(200);
        assertThat(bounded("/actuator/health/readiness").status()).isEqualTo(200);

        server.stop();
        try {
            Answer db = bounded("/actuator/health/db");
            assertThat(db.status()).isEqualTo(503);
            assertThat(this.json.readTree(db.body()).path("status").asText()).isEqualTo("DOWN");
            assertThat(this.json.readTree(db.body()).path("details").path("error").asText())
                .matches("SQLSTATE (08...|57P0.) .*");
            assertThat(db.body()).doesNotContain(server.password()).doesNotContain("jdbc:");
            assertThat(bounded("/actuator/health/readiness").status()).isEqualTo(503);
            assertThat(bounded("/actuator/health/liveness").status()).isEqualTo(200);
        }
        finally {
            server.start();
        }

        Answer db = bounded("/actuator/health/db");
        assertThat(db.status()).isEqualTo(200);
        assertThat(this.json.readTree(db.body()).path("status").asText()).isEqualTo("UP");
        assertThat(bounded("/actuator/health/readiness").status()).isEqualTo(200);
        assertThat(bounded("/actuator/health/liveness").status()).isEqualTo(200);
    }

    private Answer bounded(String path) {
        Answer answer = ActuatorTestApplication.get(this.port, path);
        assertThat(answer.took()).as(path).isLessThan(HEALTH_TIMEOUT.plus(HTTP_MARGIN));
        return answer;
    }

}
