package dev.resilientdb.sample;

import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.sql.Connection;
import java.sql.Statement;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Every endpoint of the API and every kind of bad input, over HTTP against the running sample on a
 * real PostgreSQL.
 */
class JobApiTests extends SampleHttpTestSupport {

    @Test
    void postStoresJobAndCountsItAgainstTheAccount() {
        String account = newAccount();
        Response response = postJob(jobJson(account, "render"));
        assertThat(response.status()).isEqualTo(201);
        JsonNode job = response.json();
        assertThat(job.get("id").asString()).matches("[0-9a-f-]{36}");
        assertThat(job.get("account").asString()).isEqualTo(account);
        assertThat(job.get("type").asString()).isEqualTo("render");
        assertThat(job.get("status").asString()).isEqualTo("SUBMITTED");
        assertThat(job.get("createdAt").asString()).endsWith("Z");
        assertThat(response.header("Location")).isEqualTo("/api/jobs/" + job.get("id").asString());
        assertThat(response.header("Idempotent-Replayed")).isEqualTo("false");
        assertThat(usage(account)).isEqualTo(1);
        assertThat(database().queryLong("SELECT count(*) FROM jobs WHERE account = '" + account + "'")).isEqualTo(1);
    }

    @Test
    void getReturnsTheStoredJob() {
        JsonNode created = postJob(jobJson(newAccount(), "encode")).json();
        Response response = get("/api/jobs/" + created.get("id").asString());
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.json()).isEqualTo(created);
    }

    @Test
    void getOfUnknownJobIsNotFoundProblem() {
        Response response = get("/api/jobs/" + UUID.randomUUID());
        assertProblem(response, 404);
    }

    @Test
    void getWithIdThatIsNotAUuidIsNotFoundProblem() {
        assertProblem(get("/api/jobs/not-a-uuid"), 404);
        assertProblem(get("/api/jobs/1-2-3-4-5"), 404);
        assertProblem(get("/api/jobs/" + "9".repeat(500)), 404);
    }

    @Test
    void usageCountsEveryJobOfTheAccount() {
        String account = newAccount();
        for (int i = 0; i < 3; i++) {
            assertThat(postJob(jobJson(account, "t" + i)).status()).isEqualTo(201);
        }
        Response response = get("/api/accounts/" + account + "/usage");
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.json().get("account").asString()).isEqualTo(account);
        assertThat(response.json().get("jobs").asLong()).isEqualTo(3);
    }

    @Test
    void usageOfAccountWithoutJobsIsZero() {
        assertThat(usage(newAccount())).isZero();
    }

    @Test
    void usageOfOverLongAccountIsBadRequestProblem() {
        assertProblem(get("/api/accounts/" + "a".repeat(65) + "/usage"), 400);
    }

    @Test
    void sameIdempotencyKeyReturnsFirstJobAndCountsNothingTwice() {
        String account = newAccount();
        String key = UUID.randomUUID().toString();
        Response first = postJob(jobJson(account, "render"), "Idempotency-Key", key);
        Response second = postJob(jobJson(account, "render"), "Idempotency-Key", key);
        assertThat(first.status()).isEqualTo(201);
        assertThat(second.status()).isEqualTo(201);
        assertThat(second.json()).isEqualTo(first.json());
        assertThat(second.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(usage(account)).isEqualTo(1);
        assertThat(database().queryLong("SELECT count(*) FROM jobs WHERE idempotency_key = '" + key + "'"))
            .isEqualTo(1);
    }

    @Test
    void requestWhoseAnswerWasLostIsAnsweredWithTheCommittedJobWhenSentAgain() throws Exception {
        String account = newAccount();
        assertThat(postJob(jobJson(account, "render")).status()).isEqualTo(201);
        String key = UUID.randomUUID().toString();
        HttpRequest request = HttpRequest.newBuilder(uri("/api/jobs"))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .timeout(Duration.ofSeconds(1))
            .POST(HttpRequest.BodyPublishers.ofString(jobJson(account, "render")))
            .build();
        // Hold the account's usage row: the request inserts its job, then waits on the row lock, and the
        // client gives up before the server commits; the client cannot know whether the job exists.
        try (Connection admin = database().superuserConnection(); Statement statement = admin.createStatement()) {
            admin.setAutoCommit(false);
            statement.executeQuery("SELECT jobs FROM account_usage WHERE account = '" + account + "' FOR UPDATE");
            assertThatExceptionOfType(HttpTimeoutException.class)
                .isThrownBy(() -> http.send(request, HttpResponse.BodyHandlers.ofString()));
            admin.commit();
        }
        Response again = postJob(jobJson(account, "render"), "Idempotency-Key", key);
        assertThat(again.status()).isEqualTo(201);
        assertThat(again.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(database().queryColumn("SELECT id FROM jobs WHERE idempotency_key = '" + key + "'"))
            .containsExactly(again.json().get("id").asString());
        assertThat(usage(account)).isEqualTo(2);
    }

    @Test
    void sameIdempotencyKeySentConcurrentlyStoresOneJob() throws Exception {
        String account = newAccount();
        String key = UUID.randomUUID().toString();
        ExecutorService clients = Executors.newFixedThreadPool(16);
        try {
            List<Callable<Response>> requests = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                requests.add(() -> postJob(jobJson(account, "render"), "Idempotency-Key", key));
            }
            Set<String> ids = new HashSet<>();
            for (Future<Response> response : clients.invokeAll(requests)) {
                assertThat(response.get().status()).isEqualTo(201);
                ids.add(response.get().json().get("id").asString());
            }
            assertThat(ids).hasSize(1);
        }
        finally {
            clients.shutdownNow();
        }
        assertThat(usage(account)).isEqualTo(1);
    }

    @Test
    void idempotencyKeyReusedForDifferentJobIsUnprocessableProblem() {
        String key = UUID.randomUUID().toString();
        String account = newAccount();
        assertThat(postJob(jobJson(account, "render"), "Idempotency-Key", key).status()).isEqualTo(201);
        assertProblem(postJob(jobJson(account, "encode"), "Idempotency-Key", key), 422);
        assertProblem(postJob(jobJson(newAccount(), "render"), "Idempotency-Key", key), 422);
        assertThat(usage(account)).isEqualTo(1);
    }

    @Test
    void idempotencyKeyOf128CharactersIsAcceptedAndLongerIsBadRequestProblem() {
        String account = newAccount();
        assertThat(postJob(jobJson(account, "render"), "Idempotency-Key", "k".repeat(128)).status()).isEqualTo(201);
        Response response = postJob(jobJson(account, "render"), "Idempotency-Key", "k".repeat(129));
        assertProblem(response, 400);
        assertThat(response.json().get("errors").toString()).contains("Idempotency-Key");
        assertThat(usage(account)).isEqualTo(1);
    }

    @Test
    void headerOverTomcatsLimitIsBadRequestProblem() {
        assertProblem(postJob(jobJson(newAccount(), "render"), "Idempotency-Key", "k".repeat(20_000)), 400);
    }

    @Test
    void malformedUriIsBadRequestProblem() throws IOException {
        // java.net.URI refuses to build this URI, so the request is written by hand.
        try (Socket socket = new Socket("localhost", this.port)) {
            socket.getOutputStream().write(
                    "GET /api/jobs/%ZZ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(response).startsWith("HTTP/1.1 400").containsIgnoringCase("Content-Type: application/problem+json");
            JsonNode problem = json.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
            assertThat(problem.get("status").asInt()).isEqualTo(400);
            assertThat(problem.get("title").asString()).isEqualTo("Bad Request");
        }
    }

    @Test
    void unsupportedMethodIsMethodNotAllowedProblem() {
        assertProblem(send(HttpRequest.newBuilder(uri("/api/jobs/" + UUID.randomUUID())).DELETE().build()), 405);
    }

    @Test
    void blankIdempotencyKeyIsBadRequestProblem() {
        assertProblem(postJob(jobJson(newAccount(), "render"), "Idempotency-Key", "   "), 400);
    }

    @Test
    void missingFieldsAreBadRequestProblemNamingEachField() {
        Response response = postJob("{}");
        assertProblem(response, 400);
        assertThat(response.json().get("errors").toString()).contains("account is required")
            .contains("type is required");
        assertProblem(postJob("{\"account\": \"" + newAccount() + "\"}"), 400);
        assertProblem(postJob("{\"type\": \"render\"}"), 400);
        assertProblem(postJob("{\"account\": null, \"type\": \"render\"}"), 400);
    }

    @Test
    void blankFieldsAreBadRequestProblem() {
        assertProblem(postJob(jobJson("", "render")), 400);
        assertProblem(postJob(jobJson("  ", "render")), 400);
        assertProblem(postJob(jobJson(newAccount(), "")), 400);
        assertProblem(postJob(jobJson(newAccount(), "\t")), 400);
    }

    @Test
    void fieldsOf64CharactersAreAcceptedAndLongerAreBadRequestProblem() {
        String account = "a".repeat(60) + UUID.randomUUID().toString().substring(0, 4);
        assertThat(postJob(jobJson(account, "t".repeat(64))).status()).isEqualTo(201);
        Response longAccount = postJob(jobJson("a".repeat(65), "render"));
        assertProblem(longAccount, 400);
        assertThat(longAccount.json().get("errors").toString()).contains("account must be at most 64 characters");
        assertProblem(postJob(jobJson(newAccount(), "t".repeat(65))), 400);
        assertProblem(postJob(jobJson("a".repeat(10_000), "t".repeat(10_000))), 400);
    }

    @Test
    void malformedJsonIsBadRequestProblem() {
        assertProblem(postJob("{\"account\": \"a\", \"type\": "), 400);
        assertProblem(postJob("not json"), 400);
        assertProblem(postJob("[1, 2]"), 400);
        assertProblem(postJob("{\"account\": {\"nested\": 1}, \"type\": \"render\"}"), 400);
    }

    @Test
    void emptyOrNullBodyIsBadRequestProblem() {
        assertProblem(postJob(""), 400);
        assertProblem(postJob("null"), 400);
    }

    @Test
    void bodyThatIsNotJsonIsUnsupportedMediaTypeProblem() {
        Response response = send(HttpRequest.newBuilder(uri("/api/jobs"))
            .header("Content-Type", "text/plain")
            .POST(HttpRequest.BodyPublishers.ofString("account=a&type=b"))
            .build());
        assertProblem(response, 415);
    }

    @Test
    void unknownPathIsNotFoundProblem() {
        assertProblem(get("/api/nothing-here"), 404);
    }

    @Test
    void badInputStoresNothing() {
        String account = newAccount();
        postJob(jobJson(account, "t".repeat(65)));
        postJob(jobJson(account, "render"), "Idempotency-Key", "k".repeat(129));
        assertThat(database().queryLong("SELECT count(*) FROM jobs WHERE account = '" + account + "'")).isZero();
        assertThat(usage(account)).isZero();
    }

    private long usage(String account) {
        Response response = get("/api/accounts/" + account + "/usage");
        assertThat(response.status()).isEqualTo(200);
        return response.json().get("jobs").asLong();
    }

    static void assertProblem(Response response, int status) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.contentType()).startsWith("application/problem+json");
        JsonNode problem = response.json();
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("title").asString()).isNotBlank();
        assertThat(problem.has("trace")).isFalse();
        assertThat(response.body()).doesNotContain("Exception", "\tat ", "SELECT", "INSERT", "password",
                PostgresServers_PASSWORD);
    }

    private static final String PostgresServers_PASSWORD = dev.resilientdb.test.PostgresServer.APP_PASSWORD;

}
