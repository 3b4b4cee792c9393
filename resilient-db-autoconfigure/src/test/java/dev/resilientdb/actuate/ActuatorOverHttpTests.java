package dev.resilientdb.actuate;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.actuate.ActuatorTestApplication.Answer;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Health, probes, metrics and the {@code dbpool} endpoint of a web application with the starter,
 * over real HTTP, on a real PostgreSQL. The password is also in the JDBC URL, to prove that neither
 * form of it leaks.
 */
@SpringBootTest(classes = ActuatorTestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "resilient.db.pool.max-size=5", "resilient.db.pool.connection-timeout=30s",
                "resilient.db.driver.application-name=" + ActuatorOverHttpTests.APPLICATION_NAME,
                "resilient.db.health.timeout=800ms", "resilient.db.retry.initial-interval=10ms",
                "management.endpoints.web.exposure.include=health,metrics,prometheus,dbpool,configprops,env",
                "management.endpoint.health.show-details=always", "management.endpoint.health.show-components=always",
                "management.endpoint.env.show-values=always", "management.endpoint.configprops.show-values=always" })
@AutoConfigureMetrics
@DirtiesContext
class ActuatorOverHttpTests {

    static final String APPLICATION_NAME = "actuator-http-it";

    private static final Duration HEALTH_TIMEOUT = Duration.ofMillis(800);

    /** HTTP and scheduling on a busy 2-core machine, on top of the bound under test. */
    private static final Duration HTTP_MARGIN = Duration.ofMillis(500);

    private static final PostgresServer server = PostgresServers.shared();

    private final ObjectMapper json = new ObjectMapper();

    @LocalServerPort
    private int port;

    /**
     * The first request initializes Spring MVC and the endpoints, and the first check opens the
     * probe's own connection; the bounds below are about a running application.
     */
    @BeforeEach
    void warmUp() {
        ActuatorTestApplication.get(this.port, "/actuator/health/db");
    }

    @Autowired
    private HikariDataSource dataSource;

    @Autowired
    private RetryingTransactionTemplate transactionTemplate;

    @Autowired
    private JdbcTemplate jdbcTemplate;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", () -> server.jdbcUrl() + "?password=" + server.password());
        registry.add("spring.datasource.username", server::username);
        registry.add("spring.datasource.password", server::password);
    }

    @Test
    void dbHealthAnswersWithinItsTimeoutTwentyTimesWhileThePoolIsExhaustedAndFiftyCallersQueue() throws Exception {
        server.execute("CREATE TABLE IF NOT EXISTS http_health_lock (id int)");
        server.execute("GRANT ALL ON http_health_lock TO " + PostgresServer.APP_USER);
        ExecutorService callers = Executors.newFixedThreadPool(55);
        try (Connection lockHolder = server.superuserConnection()) {
            lockHolder.setAutoCommit(false);
            try (Statement lock = lockHolder.createStatement()) {
                lock.execute("LOCK TABLE http_health_lock IN ACCESS EXCLUSIVE MODE");
            }
            for (int i = 0; i < 5; i++) {
                callers.submit(this::blockedOnTheLock);
            }
            awaitPool(5, 0);
            for (int i = 0; i < 50; i++) {
                callers.submit(() -> {
                    this.dataSource.getConnection().close();
                    return null;
                });
            }
            awaitPool(5, 50);
            for (int i = 0; i < 20; i++) {
                Answer answer = ActuatorTestApplication.get(this.port, "/actuator/health/db");
                assertThat(answer.took()).isLessThan(HEALTH_TIMEOUT.plus(HTTP_MARGIN));
                assertThat(answer.status()).isEqualTo(200);
                JsonNode health = this.json.readTree(answer.body());
                assertThat(health.path("status").asText()).isEqualTo("UP");
                JsonNode details = health.path("details");
                assertThat(details.path("saturated").asBoolean()).isTrue();
                assertThat(details.path("active").asInt()).isEqualTo(5);
                assertThat(details.path("idle").asInt()).isZero();
                assertThat(details.path("max").asInt()).isEqualTo(5);
                assertThat(details.path("utilization").asDouble()).isEqualTo(1.0);
                assertThat(details.path("threadsWaiting").asInt()).isGreaterThanOrEqualTo(50);
                assertThat(details.has("checkLatencyMs")).isTrue();
            }
            lockHolder.rollback();
        }
        finally {
            callers.shutdown();
            assertThat(callers.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void readinessIncludesDbAndLivenessDoesNot() throws Exception {
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/health/readiness").status()).isEqualTo(200);
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/health/liveness").status()).isEqualTo(200);
        Answer dbInReadiness = ActuatorTestApplication.get(this.port, "/actuator/health/readiness/db");
        assertThat(dbInReadiness.status()).isEqualTo(200);
        assertThat(this.json.readTree(dbInReadiness.body()).path("details").has("saturated")).isTrue();
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/health/liveness/db").status()).isEqualTo(404);
    }

    @Test
    void prometheusScrapeHasPoolUtilizationHikariHealthCheckAndRetryMetersAfterLoad() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (Connection connection = this.dataSource.getConnection()) {
                connection.isValid(1);
            }
        }
        AtomicInteger attempts = new AtomicInteger();
        this.transactionTemplate.executeWithoutResult(status -> {
            if (attempts.incrementAndGet() == 1) {
                this.jdbcTemplate.execute("DO $$ BEGIN RAISE EXCEPTION 'test conflict' USING ERRCODE = '40001'; END $$");
            }
        });
        assertThat(attempts).hasValue(2);
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/health/db").status()).isEqualTo(200);

        Answer utilization = ActuatorTestApplication.get(this.port, "/actuator/metrics/resilientdb.pool.utilization");
        assertThat(utilization.status()).isEqualTo(200);
        assertThat(this.json.readTree(utilization.body()).path("availableTags").toString()).contains("dataSource");

        Answer scrape = ActuatorTestApplication.get(this.port, "/actuator/prometheus");
        assertThat(scrape.status()).isEqualTo(200);
        assertThat(scrape.body()).contains("resilientdb_pool_utilization{pool=\"dataSource\"}",
                "resilientdb_pool_saturated{pool=\"dataSource\"}", "hikaricp_connections_active{pool=\"dataSource\"}",
                "hikaricp_connections_max{pool=\"dataSource\"} 5.0",
                "resilientdb_health_check_seconds_count{outcome=\"up\",pool=\"dataSource\"}",
                "resilientdb_retry_attempts_total{sqlstate_class=\"40\"} 1.0",
                "resilientdb_retry_successes_total{sqlstate_class=\"40\"} 1.0", "resilientdb_retry_exhausted_total",
                "resilientdb_commit_unknown_total");
    }

    @Test
    void evictOverHttpReplacesEveryPooledConnectionWhileAnOpenTransactionStillCommits() throws Exception {
        server.execute("CREATE TABLE IF NOT EXISTS http_evict_rows (id int)");
        server.execute("GRANT ALL ON http_evict_rows TO " + PostgresServer.APP_USER);
        awaitBackends(5);
        Set<Integer> before = new HashSet<>(server.backendPids(APPLICATION_NAME));
        try (Connection inFlight = this.dataSource.getConnection()) {
            inFlight.setAutoCommit(false);
            try (Statement statement = inFlight.createStatement()) {
                statement.execute("INSERT INTO http_evict_rows VALUES (1)");
                Answer evicted = ActuatorTestApplication.post(this.port, "/actuator/dbpool");
                assertThat(evicted.status()).isEqualTo(200);
                assertThat(this.json.readTree(evicted.body()).path("evicted").asInt()).isEqualTo(5);
                statement.execute("INSERT INTO http_evict_rows VALUES (2)");
            }
            inFlight.commit();
        }
        this.dataSource.getConnection().close();
        awaitBackends(5);
        assertThat(new HashSet<>(server.backendPids(APPLICATION_NAME))).doesNotContainAnyElementsOf(before);
        assertThat(server.queryLong("SELECT count(*) FROM http_evict_rows WHERE id IN (1, 2)")).isGreaterThanOrEqualTo(2);
    }

    @Test
    void passwordNeverAppearsInHealthMetricsDbpoolConfigpropsOrEnvEvenWithValuesShown() {
        String[] paths = { "/actuator/health", "/actuator/health/db", "/actuator/health/readiness", "/actuator/metrics",
                "/actuator/metrics/resilientdb.pool.utilization", "/actuator/prometheus", "/actuator/dbpool",
                "/actuator/configprops", "/actuator/configprops/spring.datasource", "/actuator/env",
                "/actuator/env/spring.datasource.password", "/actuator/env/spring.datasource.url" };
        for (String path : paths) {
            Answer answer = ActuatorTestApplication.get(this.port, path);
            assertThat(answer.status()).as(path).isEqualTo(200);
            assertThat(answer.body()).as(path).doesNotContain(server.password());
        }
        // Values are shown: the sanitising is what hides the password, not show-values.
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/env").body()).contains(APPLICATION_NAME);
        assertThat(ActuatorTestApplication.get(this.port, "/actuator/configprops").body()).contains("\"maxSize\":5");
    }

    private Void blockedOnTheLock() throws SQLException {
        try (Connection connection = this.dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SELECT count(*) FROM http_health_lock");
        }
        return null;
    }

    private void awaitPool(int active, int waiting) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            var pool = this.dataSource.getHikariPoolMXBean();
            if (pool != null && pool.getActiveConnections() >= active && pool.getThreadsAwaitingConnection() >= waiting) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("Pool did not reach " + active + " active and " + waiting + " waiting");
    }

    private static void awaitBackends(int expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.backendPids(APPLICATION_NAME).size() != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(server.backendPids(APPLICATION_NAME)).hasSize(expected);
    }

}
