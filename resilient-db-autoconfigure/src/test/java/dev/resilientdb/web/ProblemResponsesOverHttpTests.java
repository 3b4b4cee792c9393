package dev.resilientdb.web;

import java.net.http.HttpResponse;
import java.time.Duration;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
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
 * The starter's problem responses over real HTTP, with a real PostgreSQL that runs, then stops: 503
 * with {@code Retry-After} and an RFC 9457 body for what the application does not map itself, the
 * application's own answer where its advice maps the same failures, and Spring MVC's default handling
 * for the failures that are not the starter's (a unique violation).
 */
@SpringBootTest(classes = ProblemResponsesTestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "resilient.db.driver.application-name=problems-http-it", "resilient.db.pool.connection-timeout=300ms",
                "resilient.db.pool.validation-timeout=250ms", "resilient.db.retry.initial-interval=50ms",
                "resilient.db.retry.deadline=1s", "resilient.db.circuit-breaker.open-after=4s",
                "resilient.db.circuit-breaker.wait-in-open-state=3s",
                "resilient.db.web.problem-responses.retry-after=5s" })
@DirtiesContext
class ProblemResponsesOverHttpTests {

    private static final PostgresServer server = PostgresServers.startDedicated();

    private final ObjectMapper json = new ObjectMapper();

    @LocalServerPort
    private int port;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        server.registerAsDataSource(registry::add);
    }

    @AfterAll
    static void closeServer() {
        server.close();
    }

    /** The table, and a closed circuit breaker: a test before may have left it open after an outage. */
    @BeforeEach
    void runningDatabase() throws InterruptedException {
        server.execute("CREATE TABLE IF NOT EXISTS problem_accounts (id int PRIMARY KEY)");
        server.execute("GRANT ALL ON problem_accounts TO " + PostgresServer.APP_USER);
        server.execute("CREATE TABLE IF NOT EXISTS problem_audit (entry text NOT NULL)");
        server.execute("GRANT ALL ON problem_audit TO " + PostgresServer.APP_USER);
        awaitAnswers();
    }

    @Test
    void runningDatabaseAnswersAsUsualAndFailuresThatAreNotTransientAreLeftToSpringMvc() {
        assertThat(ProblemResponsesTestApplication.get(this.port, "/accounts/count").statusCode()).isEqualTo(200);
        assertThat(ProblemResponsesTestApplication.get(this.port, "/own/count").statusCode()).isEqualTo(200);

        HttpResponse<String> duplicate = ProblemResponsesTestApplication.post(this.port, "/accounts/duplicate");
        assertThat(duplicate.statusCode()).isEqualTo(500);
        assertThat(duplicate.body()).doesNotContain("resilientdb.dev").doesNotContain("INSERT").doesNotContain("problem_accounts");
    }

    @Test
    void unknownCommitOutcomeIs503WithItsOwnTypeAndNoRetryAfterUnlessTheApplicationMapsIt() throws Exception {
        HttpResponse<String> unknown = ProblemResponsesTestApplication.get(this.port, "/accounts/lost-commit");
        assertThat(unknown.statusCode()).isEqualTo(503);
        assertThat(unknown.headers().firstValue("Retry-After")).isEmpty();
        JsonNode problem = problem(unknown);
        assertThat(problem.path("type").asText()).isEqualTo(DatabaseProblemResponses.COMMIT_OUTCOME_UNKNOWN.toString());
        assertThat(problem.path("title").asText()).isEqualTo("Commit outcome unknown");
        assertThat(problem.path("status").asInt()).isEqualTo(503);
        assertThat(problem.path("detail").asText()).contains("may or may not have been saved");
        assertThat(unknown.body()).doesNotContain("08006").doesNotContain("I/O error").doesNotContain("Exception");

        HttpResponse<String> own = ProblemResponsesTestApplication.get(this.port, "/own/lost-commit");
        assertThat(own.statusCode()).isEqualTo(502);
        assertThat(own.body()).isEqualTo(ProblemResponsesTestApplication.OWN_ANSWER);
    }

    /** Issue 18, finding 1: a 503 with Retry-After here would have the client write the inner commit twice. */
    @Test
    void failureAfterAnInnerCommitIs500WithItsOwnTypeAndNoRetryAfter() throws Exception {
        HttpResponse<String> partial = ProblemResponsesTestApplication.post(this.port, "/accounts/partial");
        assertThat(server.queryLong("SELECT count(*) FROM problem_audit WHERE entry = 'partial'"))
            .as("audit rows committed by the inner REQUIRES_NEW: the unit ran once").isEqualTo(1);
        assertFailedAfterCommitProblem(partial);
        assertThat(server.queryLong("SELECT count(*) FROM problem_accounts WHERE id = 7")).isZero();
    }

    /** Issue 18, finding 1: the unit of work committed in full; an afterCommit callback threw. */
    @Test
    void failureFromAnAfterCommitCallbackIs500WithItsOwnTypeAndNoRetryAfter() throws Exception {
        HttpResponse<String> afterCommit = ProblemResponsesTestApplication.post(this.port, "/accounts/after-commit");
        assertThat(server.queryLong("SELECT count(*) FROM problem_audit WHERE entry = 'after-commit'")).isEqualTo(1);
        assertFailedAfterCommitProblem(afterCommit);
    }

    /** Issue 18, finding 1: a 25006 in the application's own read-only transaction is its bug, not an outage. */
    @Test
    void writeInTheApplicationsOwnReadOnlyTransactionIsLeftToSpringMvc() {
        HttpResponse<String> readOnlyWrite = ProblemResponsesTestApplication.post(this.port, "/accounts/read-only-write");
        assertThat(readOnlyWrite.statusCode()).isEqualTo(500);
        assertThat(readOnlyWrite.headers().firstValue("Retry-After")).isEmpty();
        assertThat(readOnlyWrite.body()).doesNotContain("resilientdb.dev").doesNotContain("INSERT")
            .doesNotContain("problem_accounts");
    }

    @Test
    void stoppedDatabaseIs503WithRetryAfterThenTheBreakersWaitAndTheApplicationsOwnMappingWins() throws Exception {
        assertThat(ProblemResponsesTestApplication.get(this.port, "/accounts/count").statusCode()).isEqualTo(200);
        server.stop();
        try {
            // Retries exhausted on a transient failure (08001, connection refused): Retry-After from the property.
            HttpResponse<String> exhausted = ProblemResponsesTestApplication.get(this.port, "/accounts/count");
            assertThat(exhausted.statusCode()).isEqualTo(503);
            assertThat(exhausted.headers().firstValue("Retry-After")).hasValue("5");
            assertUnavailableProblem(exhausted);

            HttpResponse<String> own = ProblemResponsesTestApplication.get(this.port, "/own/count");
            assertThat(own.statusCode()).isEqualTo(502);
            assertThat(own.body()).isEqualTo(ProblemResponsesTestApplication.OWN_ANSWER);

            // Once the outage has lasted open-after (4 s, longer than the 1 s deadline so that the first call
            // runs out of retries), calls fail fast: Retry-After is the breaker's wait-in-open-state.
            HttpResponse<String> fastFailure = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (fastFailure == null && System.nanoTime() < deadline) {
                HttpResponse<String> answer = ProblemResponsesTestApplication.get(this.port, "/accounts/count");
                assertThat(answer.statusCode()).isEqualTo(503);
                assertUnavailableProblem(answer);
                if (answer.headers().firstValue("Retry-After").orElseThrow().equals("3")) {
                    fastFailure = answer;
                }
            }
            assertThat(fastFailure).as("a 503 from the open circuit breaker within 30 s").isNotNull();

            HttpResponse<String> ownWhileOpen = ProblemResponsesTestApplication.get(this.port, "/own/count");
            assertThat(ownWhileOpen.statusCode()).isEqualTo(502);
            assertThat(ownWhileOpen.body()).isEqualTo(ProblemResponsesTestApplication.OWN_ANSWER);
        }
        finally {
            server.start();
        }
        awaitAnswers();
    }

    private void awaitAnswers() throws InterruptedException {
        int status = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (status != 200 && System.nanoTime() < deadline) {
            status = ProblemResponsesTestApplication.get(this.port, "/accounts/count").statusCode();
            if (status != 200) {
                Thread.sleep(100);
            }
        }
        assertThat(status).as("answers with the database running").isEqualTo(200);
    }

    private void assertUnavailableProblem(HttpResponse<String> answer) throws Exception {
        JsonNode problem = problem(answer);
        assertThat(problem.path("type").asText()).isEqualTo(DatabaseProblemResponses.DATABASE_UNAVAILABLE.toString());
        assertThat(problem.path("title").asText()).isEqualTo("Database unavailable");
        assertThat(problem.path("status").asInt()).isEqualTo(503);
        assertThat(problem.path("detail").asText()).isEqualTo("The database is unavailable; try again later.");
        assertThat(answer.body()).doesNotContain("SELECT").doesNotContain("problem_accounts").doesNotContain("jdbc:")
            .doesNotContain(server.password()).doesNotContain("Exception").doesNotContain("SQLSTATE");
    }

    private void assertFailedAfterCommitProblem(HttpResponse<String> answer) throws Exception {
        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(answer.headers().firstValue("Retry-After")).isEmpty();
        JsonNode problem = problem(answer);
        assertThat(problem.path("type").asText()).isEqualTo(DatabaseProblemResponses.FAILED_AFTER_COMMIT.toString());
        assertThat(problem.path("title").asText()).isEqualTo("Failed after commit");
        assertThat(problem.path("status").asInt()).isEqualTo(500);
        assertThat(problem.path("detail").asText()).contains("part of the change was saved");
        assertThat(answer.body()).doesNotContain("INSERT").doesNotContain("problem_").doesNotContain("Exception")
            .doesNotContain("SQLSTATE");
    }

    private JsonNode problem(HttpResponse<String> answer) throws Exception {
        assertThat(answer.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        return this.json.readTree(answer.body());
    }

}
