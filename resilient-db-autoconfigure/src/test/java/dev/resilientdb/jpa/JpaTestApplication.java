package dev.resilientdb.jpa;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.resilientdb.retry.TransactionRetryListener;
import dev.resilientdb.test.PostgresServer;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableWebApplicationContext;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.server.servlet.context.AnnotationConfigServletWebServerApplicationContext;
import org.springframework.context.annotation.Import;

/**
 * A Spring Data JPA web application with the starter and nothing but Spring Boot's defaults
 * (Hibernate, {@code JpaTransactionManager}, open-in-view unless switched off), on a real embedded
 * Tomcat and a real PostgreSQL. Entities and repositories are found in this package.
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration
@Import({ AccountService.class, AccountController.class })
class JpaTestApplication {

    /** Bounds a request so that a hang fails the test instead of stalling the build. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(90);

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private JpaTestApplication() {
    }

    /**
     * The application on the given server, listening on a free port, with retry settings generous
     * enough for a loaded machine. The {@code jpa_accounts} table must exist (see {@link #createTable}).
     */
    static WebApplicationContextRunner on(PostgresServer server, String applicationName) {
        return new WebApplicationContextRunner(AnnotationConfigServletWebServerApplicationContext::new)
            .withUserConfiguration(JpaTestApplication.class)
            .withBean(DatabaseFaults.class, () -> new DatabaseFaults(server))
            .withBean(RetryEvents.class)
            .withPropertyValues("server.port=0", "spring.datasource.url=" + server.jdbcUrl(),
                    "spring.datasource.username=" + server.username(),
                    "spring.datasource.password=" + server.password(),
                    "resilient.db.driver.application-name=" + applicationName,
                    "resilient.db.retry.initial-interval=50ms", "resilient.db.retry.max-interval=500ms",
                    "resilient.db.retry.deadline=15s");
    }

    /** Creates the table of {@link Account} anew, as the superuser, and grants it to the application role. */
    static void createTable(PostgresServer server) {
        server.execute("DROP TABLE IF EXISTS jpa_accounts");
        server.execute("CREATE TABLE jpa_accounts (id text PRIMARY KEY, version bigint NOT NULL, balance int NOT NULL)");
        server.execute("GRANT ALL ON jpa_accounts TO " + PostgresServer.APP_USER);
    }

    /** The port the embedded Tomcat of a running test application listens on. */
    static int port(AssertableWebApplicationContext context) {
        return context.getSourceApplicationContext(AnnotationConfigServletWebServerApplicationContext.class)
            .getWebServer()
            .getPort();
    }

    /** The answer to one request. */
    record Answer(int status, String body) {
    }

    static CompletableFuture<Answer> post(int port, String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(REQUEST_TIMEOUT)
            .POST(HttpRequest.BodyPublishers.noBody())
            .build();
        return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString())
            .thenApply(response -> new Answer(response.statusCode(), response.body()));
    }

    static Answer postAndWait(int port, String path) throws Exception {
        return post(port, path).get();
    }

    /** Records what the retry engine reports, with the back-off it chose. */
    static class RetryEvents implements TransactionRetryListener {

        final List<String> events = new CopyOnWriteArrayList<>();

        final List<Duration> delays = new CopyOnWriteArrayList<>();

        @Override
        public void onRetry(int attempt, Throwable failure, Duration delay) {
            this.delays.add(delay);
            this.events.add("retry " + attempt + " " + failure.getClass().getSimpleName() + " " + sqlState(failure));
        }

        @Override
        public void onSuccessAfterRetry(int attempts, Throwable lastFailure) {
            this.events.add("success after " + attempts);
        }

        @Override
        public void onExhausted(int attempts, Throwable lastFailure) {
            this.events.add("exhausted after " + attempts);
        }

        @Override
        public void onCommitOutcomeUnknown(int attempt, Throwable failure) {
            this.events.add("commit unknown " + attempt);
        }

        /** The SQLSTATE of the first SQLException in the cause chain that has one. */
        private static String sqlState(Throwable failure) {
            for (Throwable current = failure; current != null; current = current.getCause()) {
                if (current instanceof SQLException sql && sql.getSQLState() != null) {
                    return sql.getSQLState();
                }
            }
            return "none";
        }

    }

}
