package dev.resilientdb.sample;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.annotation.DirtiesContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every database session of the sample killed ({@code pg_terminate_backend}, as a failover or an
 * administrator would): clients see nothing, the retry engine runs the unit of work again on a new
 * connection, and each job is counted once. With the sample's own {@code application.yml} settings.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
// Its server stops with the class: a cached context would probe it for ever and log the outage into later tests.
@DirtiesContext
class KilledSessionsTests {

    private static PostgresServer database;

    private static final HttpClient http = HttpClient.newHttpClient();

    private static final ObjectMapper json = new ObjectMapper();

    @LocalServerPort
    int port;

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
    void killedDatabaseSessionsAreInvisibleToClients() throws Exception {
        String account = "killed-" + UUID.randomUUID();
        assertThat(post(account).statusCode()).isEqualTo(201);
        for (int i = 0; i < 5; i++) {
            assertThat(database.terminateBackends("sample-app")).isPositive();
            HttpResponse<String> response = post(account);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
        }
        assertThat(json.readTree(get("/api/accounts/" + account + "/usage").body()).get("jobs").asLong()).isEqualTo(6);
        assertThat(database.queryLong("SELECT count(*) FROM jobs WHERE account = '" + account + "'")).isEqualTo(6);
    }

    private HttpResponse<String> post(String account) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + this.port + "/api/jobs"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"" + account + "\",\"type\":\"render\"}"))
            .build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + this.port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

}
