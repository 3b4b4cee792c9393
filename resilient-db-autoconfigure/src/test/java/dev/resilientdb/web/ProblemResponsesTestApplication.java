package dev.resilientdb.web;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;

import dev.resilientdb.retry.CommitOutcomeUnknownException;
import dev.resilientdb.retry.RetryingTransactionTemplate;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.DefaultTransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * A Spring MVC application with the starter, for the problem responses over real HTTP: one controller
 * whose database failures nothing in the application maps, and one that the application's own
 * advice covers, with a handler for {@link DataAccessException} and {@link TransactionException} (an
 * exhausted pool, or a server that refuses connections, surfaces as a {@code CannotCreateTransactionException}).
 * It scans no components.
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration(excludeName = { "org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration",
        "org.springframework.boot.data.jpa.autoconfigure.DataJpaRepositoriesAutoConfiguration" })
@Import({ ProblemResponsesTestApplication.Accounts.class, ProblemResponsesTestApplication.OwnAccounts.class,
        ProblemResponsesTestApplication.OwnMapping.class })
class ProblemResponsesTestApplication {

    /** The body of the application's own answer to a database failure. */
    static final String OWN_ANSWER = "mapped by the application";

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ProblemResponsesTestApplication() {
    }

    static HttpResponse<String> get(int port, String path) {
        return send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).GET());
    }

    static HttpResponse<String> post(int port, String path) {
        return send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .POST(HttpRequest.BodyPublishers.noBody()));
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return HTTP.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        }
        catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    /** Database work whose failures the application leaves to the starter. */
    @RestController
    static class Accounts {

        private final RetryingTransactionTemplate transactions;

        private final JdbcTemplate jdbc;

        private final TransactionTemplate auditTransactions;

        Accounts(RetryingTransactionTemplate transactions, JdbcTemplate jdbc) {
            this.transactions = transactions;
            this.jdbc = jdbc;
            this.auditTransactions = new TransactionTemplate(transactions.getTransactionManager(),
                    new DefaultTransactionDefinition(TransactionDefinition.PROPAGATION_REQUIRES_NEW));
        }

        @GetMapping("/accounts/count")
        long count() {
            return this.transactions.execute(status -> this.jdbc.queryForObject("SELECT count(*) FROM problem_accounts", Long.class));
        }

        /** A unique violation (23505): not transient, so not the starter's to answer. */
        @PostMapping("/accounts/duplicate")
        void duplicate() {
            this.transactions.executeWithoutResult(status -> {
                this.jdbc.update("INSERT INTO problem_accounts VALUES (?)", 42);
                this.jdbc.update("INSERT INTO problem_accounts VALUES (?)", 42);
            });
        }

        /**
         * An inner {@code REQUIRES_NEW} commits an audit row, then the unit of work loses its connection
         * (its backend terminated, 57P01): transient, but not re-run, since the audit row is stored.
         */
        @PostMapping("/accounts/partial")
        void partial() {
            this.transactions.executeWithoutResult(status -> {
                this.jdbc.update("INSERT INTO problem_accounts VALUES (?)", 7);
                this.auditTransactions.executeWithoutResult(
                        audit -> this.jdbc.update("INSERT INTO problem_audit VALUES (?)", "partial"));
                this.jdbc.queryForObject("SELECT pg_terminate_backend(pg_backend_pid())", Boolean.class);
            });
        }

        /** The unit of work commits, then an {@code afterCommit} callback throws a transient-looking failure. */
        @PostMapping("/accounts/after-commit")
        void afterCommit() {
            this.transactions.executeWithoutResult(status -> {
                this.jdbc.update("INSERT INTO problem_audit VALUES (?)", "after-commit");
                TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                    @Override
                    public void afterCommit() {
                        throw new TransientDataAccessResourceException("a listener failed after the commit");
                    }
                });
            });
        }

        /** A write in a transaction the application declared read-only (25006): its own bug. */
        @PostMapping("/accounts/read-only-write")
        void readOnlyWrite() {
            DefaultTransactionDefinition readOnly = new DefaultTransactionDefinition();
            readOnly.setReadOnly(true);
            this.transactions.with(readOnly, this.transactions.getRetrySettings(), false)
                .executeWithoutResult(status -> this.jdbc.update("INSERT INTO problem_accounts VALUES (?)", 8));
        }

        /**
         * What the retry engine throws when the connection fails after the commit was sent (produced for
         * real by the engine's own tests with {@code LostCommitReply}); here only its mapping is at stake.
         */
        @GetMapping("/accounts/lost-commit")
        void lostCommit() {
            throw new CommitOutcomeUnknownException("The connection failed while committing",
                    new SQLException("An I/O error occurred while sending to the backend.", "08006"));
        }

    }

    /** The same database work, under the application's own mapping of database failures. */
    @RestController
    static class OwnAccounts {

        private final Accounts accounts;

        OwnAccounts(RetryingTransactionTemplate transactions, JdbcTemplate jdbc) {
            this.accounts = new Accounts(transactions, jdbc);
        }

        @GetMapping("/own/count")
        long count() {
            return this.accounts.count();
        }

        @GetMapping("/own/lost-commit")
        void lostCommit() {
            this.accounts.lostCommit();
        }

    }

    /** The application's own mapping, unordered as most are, for {@link OwnAccounts} only. */
    @RestControllerAdvice(assignableTypes = OwnAccounts.class)
    static class OwnMapping {

        @ExceptionHandler({ DataAccessException.class, TransactionException.class })
        ResponseEntity<String> databaseFailure(Exception ex) {
            return ResponseEntity.status(HttpStatus.BAD_GATEWAY).body(OWN_ANSWER);
        }

    }

}
