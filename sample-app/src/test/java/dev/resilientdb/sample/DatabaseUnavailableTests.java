package dev.resilientdb.sample;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import dev.resilientdb.web.DatabaseProblemResponses;
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
 * The database stopped for real: the API answers with the starter's problem responses (never a stack
 * trace or SQL): 503 with the configured {@code Retry-After} when the retries gave up, 503 without
 * {@code Retry-After} when a commit's outcome is unknown (the client must check first). Readiness
 * goes down while liveness stays up, and the service recovers by itself when the database is back.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        // open-after above the deadline: this is about a caller that ran out of retries, not about fail-fast.
        properties = { "resilient.db.retry.deadline=3s", "resilient.db.retry.max-attempts=3",
                "resilient.db.circuit-breaker.open-after=30s",
                "resilient.db.web.problem-responses.retry-after=" + DatabaseUnavailableTests.RETRY_AFTER_SECONDS + "s" })
@ExtendWith(OutputCaptureExtension.class)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class DatabaseUnavailableTests {

    /** Not the default (2 s), so that only the configured value passes. */
    static final int RETRY_AFTER_SECONDS = 7;

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
                assertThat(response.headers().firstValue("Retry-After")).hasValue(String.valueOf(RETRY_AFTER_SECONDS));
                assertProblem(response, DatabaseProblemResponses.DATABASE_UNAVAILABLE);
            }
            assertThat(management("/actuator/health/readiness").statusCode()).isEqualTo(503);
            assertThat(management("/actuator/health/liveness").statusCode()).isEqualTo(200);
        }
        finally {
            database.start();
        }
        assertThat(output).contains("resilient-db: giving up after").doesNotContain(PostgresServer.APP_PASSWORD);
        assertThat(output.getAll().lines().filter((line) -> line.contains("resilient-db: ")))
            .allSatisfy((line) -> assertThat(line).doesNotContain("INSERT", "SELECT", "jdbc:"));

        HttpResponse<String> recovered = awaitCreated(account, Duration.ofSeconds(30));
        assertThat(recovered.statusCode()).isEqualTo(201);
        assertThat(json.readTree(get("/api/accounts/" + account + "/usage").body()).get("jobs").asLong()).isEqualTo(2);
        assertThat(management("/actuator/health/readiness").statusCode()).isEqualTo(200);
    }

    /**
     * The server stops while it holds the job's commit: the reply is lost, the server is not back within
     * the deadline to say what became of the transaction, so nobody knows whether the job was stored.
     * Waiting and sending again blindly is not the answer: no {@code Retry-After}.
     */
    @Test
    void commitWhoseOutcomeStaysUnknownGivesServiceUnavailableWithoutRetryAfter(CapturedOutput output) throws Exception {
        String account = "held-" + UUID.randomUUID();
        holdCommitsOfAccountsStartingWith("held-");
        CompletableFuture<HttpResponse<String>> submitted = CompletableFuture.supplyAsync(() -> {
            try {
                return post(account);
            }
            catch (IOException | InterruptedException ex) {
                throw new IllegalStateException(ex);
            }
        });
        HttpResponse<String> response;
        try {
            awaitHeldCommit();
            database.stop();
            response = submitted.get(60, TimeUnit.SECONDS);
        }
        finally {
            database.start();
        }
        assertThat(response.statusCode()).as(response.body()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).isEmpty();
        assertProblem(response, DatabaseProblemResponses.COMMIT_OUTCOME_UNKNOWN);
        assertThat(output).contains("resilient-db: giving up after").doesNotContain(PostgresServer.APP_PASSWORD);
        assertThat(awaitCreated("after-" + UUID.randomUUID(), Duration.ofSeconds(30)).statusCode()).isEqualTo(201);
    }

    /** A deferred trigger that sleeps at commit time, for jobs of such accounts only. */
    private static void holdCommitsOfAccountsStartingWith(String prefix) {
        database.execute("CREATE OR REPLACE FUNCTION hold_job_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                + "BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$");
        database.execute("DROP TRIGGER IF EXISTS hold_job_commit ON jobs");
        database.execute("CREATE CONSTRAINT TRIGGER hold_job_commit AFTER INSERT ON jobs DEFERRABLE INITIALLY DEFERRED "
                + "FOR EACH ROW WHEN (NEW.account LIKE '" + prefix + "%') EXECUTE FUNCTION hold_job_commit()");
    }

    private static void awaitHeldCommit() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (database.queryLong("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'") == 0) {
            assertThat(System.nanoTime()).as("a job's commit held on the server within 30 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static void assertProblem(HttpResponse<String> response, URI type) {
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode problem = json.readTree(response.body());
        assertThat(problem.get("status").asInt()).isEqualTo(503);
        assertThat(problem.get("type").asString()).isEqualTo(type.toString());
        assertThat(response.body()).doesNotContain("Exception", "SELECT", "INSERT", "jdbc:", "\tat ");
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
