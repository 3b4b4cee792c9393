package dev.resilientdb.jpa;

import java.time.Duration;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.resilientdb.jpa.JpaTestApplication.Answer;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Retried units of work in asynchronous web requests ({@code Callable}, {@code WebAsyncTask},
 * {@code StreamingResponseBody}) with open-in-view: open-in-view hands the request's EntityManager
 * to the async thread and takes it back afterwards, so the retry must not leave another
 * EntityManager, and its pooled connection, behind.
 */
class JpaAsyncRequestTests {

    private static final int REQUESTS = 3;

    private static final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTable() {
        JpaTestApplication.createTable(server);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "callable", "web-async-task", "streaming" })
    void retriedAsyncRequestsGiveEveryConnectionBackToThePool(String kind) {
        JpaTestApplication.on(server, "jpa-async-it")
            .withUserConfiguration(AsyncAccountController.class)
            .withPropertyValues("spring.jpa.open-in-view=true")
            .run(context -> {
                int port = JpaTestApplication.port(context);
                AccountService service = context.getBean(AccountService.class);
                for (int i = 0; i < REQUESTS; i++) {
                    String id = kind + "-" + i;
                    Answer answer = JpaTestApplication.postAndWait(port,
                            "/async/" + kind + "/accounts/" + id + "?fault=TERMINATE_BACKEND");
                    assertThat(answer.status()).as(answer.body()).isEqualTo(200);
                    List<Integer> pids = service.backendPids(id);
                    assertThat(pids).as("backends of the attempts of %s", id).hasSize(2).doesNotHaveDuplicates();
                }
                assertThat(server.queryLong("SELECT count(*) FROM jpa_accounts")).isEqualTo(REQUESTS);
                HikariPoolMXBean pool = context.getBean(HikariDataSource.class).getHikariPoolMXBean();
                assertThat(activeConnectionsAfter(pool, Duration.ofSeconds(30)))
                    .as("connections still in use 30 s after the last of %d retried requests", REQUESTS)
                    .isZero();
            });
    }

    /** The pool's active connections once they are all back, or when the time is up. */
    private static int activeConnectionsAfter(HikariPoolMXBean pool, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pool.getActiveConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        return pool.getActiveConnections();
    }

}
