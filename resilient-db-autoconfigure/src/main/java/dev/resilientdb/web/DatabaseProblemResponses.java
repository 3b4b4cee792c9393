package dev.resilientdb.web;

import java.net.URI;
import java.sql.SQLException;
import java.time.Duration;

import dev.resilientdb.retry.CommitOutcomeUnknownException;
import dev.resilientdb.retry.DatabaseUnavailableException;
import dev.resilientdb.retry.EntityStateNotRetryableException;
import dev.resilientdb.retry.FailedAfterCommitException;
import dev.resilientdb.retry.FailureClassification;
import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.SqlStateFailureClassifier;
import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransientFailureClassifier;
import dev.resilientdb.retry.WriteInReadOnlyTransactionException;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.transaction.TransactionException;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;

/**
 * Answers the database failures a Spring MVC application does not map itself with RFC 9457 problem
 * responses ({@code application/problem+json}), as {@code docs/retries.md} decides:
 * <ul>
 * <li>{@link DatabaseUnavailableException} (the circuit breaker fails calls fast): 503 with
 * {@code Retry-After} = the time until the breaker lets trial calls through, in whole seconds;</li>
 * <li>a failure the {@link TransientFailureClassifier} calls transient (what is left after the retries
 * gave up: a lost connection, a restart, an exhausted pool, a serialization failure): 503 with the
 * configured {@code Retry-After};</li>
 * <li>{@link CommitOutcomeUnknownException} (or SQLSTATE 08007): 503 without {@code Retry-After}, with
 * its own problem type: the change may have been saved, so the client must check, or repeat with the
 * same idempotency key, rather than repeat blindly after a pause.</li>
 * <li>{@link FailedAfterCommitException} (the unit of work failed transiently after part of it had
 * committed, and was not run again): 500 without {@code Retry-After}, with its own problem type: part
 * of the change is saved, so repeating the request could apply it twice.</li>
 * <li>{@link EntityStateNotRetryableException} (a transient failure not retried because of an entity the
 * caller passed in): 503 with the configured {@code Retry-After} and its own problem type: nothing was
 * committed, and a repeated request loads fresh state.</li>
 * </ul>
 * Any other failure (a constraint, bad data, an optimistic-locking conflict, a
 * {@link WriteInReadOnlyTransactionException}, a bug) is left to
 * Spring MVC's default handling, as if this advice were not there. Bodies and log lines carry no SQL,
 * parameters, messages or stack traces: the exception types and the SQLSTATE only.
 * <p>
 * Ordered last ({@link Ordered#LOWEST_PRECEDENCE}, after the application's own advice, which is
 * registered first): Spring MVC asks {@code @ControllerAdvice} beans in order and the first one with an
 * {@code @ExceptionHandler} for the exception or one of its supertypes answers. So an application that
 * maps these exceptions itself (or {@link DataAccessException}, or every exception) keeps its answers,
 * and adding the starter changes nothing in them. Thread-safe.
 */
@ControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
public class DatabaseProblemResponses {

    /** The problem type of a 503 while the database is unavailable. */
    public static final URI DATABASE_UNAVAILABLE = URI.create("tag:resilientdb.dev,2026:database-unavailable");

    /** The problem type of a 503 after a commit whose outcome is unknown. */
    public static final URI COMMIT_OUTCOME_UNKNOWN = URI.create("tag:resilientdb.dev,2026:commit-outcome-unknown");

    /** The problem type of a 500 after part of the unit of work committed. */
    public static final URI FAILED_AFTER_COMMIT = URI.create("tag:resilientdb.dev,2026:failed-after-commit");
    /** The problem type of a 503 after a transient failure not retried because of the caller's entities. */
    public static final URI ENTITY_STATE_NOT_RETRYABLE = URI.create("tag:resilientdb.dev,2026:entity-state-not-retryable");

    private static final Log logger = LogFactory.getLog(DatabaseProblemResponses.class);

    private final TransientFailureClassifier classifier;

    private final Duration retryAfter;

    /**
     * @param classifier decides which failures are transient, the retry engine's
     * @param retryAfter the {@code Retry-After} of a 503 for a transient failure, rounded up to whole seconds
     */
    public DatabaseProblemResponses(TransientFailureClassifier classifier, Duration retryAfter) {
        this.classifier = classifier;
        this.retryAfter = retryAfter;
    }

    /**
     * The circuit breaker failed the call fast: 503, {@code Retry-After} until its next trial call.
     * @param ex the breaker's refusal
     * @return the problem response
     */
    @ExceptionHandler
    public ResponseEntity<ProblemDetail> databaseUnavailable(DatabaseUnavailableException ex) {
        // The breaker logs once when it opens and counts each call it refuses; a line per request would
        // flood the log for as long as the outage lasts.
        logger.debug("resilient-db: answering 503, circuit breaker open");
        return unavailable((ex.getRetryAfter() != null) ? ex.getRetryAfter() : this.retryAfter);
    }

    /**
     * Nobody knows whether the commit happened: 503 with its own problem type and no {@code Retry-After}.
     * @param ex the unknown outcome
     * @return the problem response
     */
    @ExceptionHandler
    public ResponseEntity<ProblemDetail> commitOutcomeUnknown(CommitOutcomeUnknownException ex) {
        logOnce("answering 503, commit outcome unknown: ", ex);
        return commitOutcomeUnknown();
    }

    /**
     * Part of the unit of work committed before it failed, so it was not run again: 500 with its own
     * problem type and no {@code Retry-After}, though the failure itself was transient.
     * @param ex the failure after the commit
     * @return the problem response
     */
    @ExceptionHandler
    public ResponseEntity<ProblemDetail> failedAfterCommit(FailedAfterCommitException ex) {
        logOnce("answering 500, failed after part of the unit of work committed: ", ex);
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.INTERNAL_SERVER_ERROR,
                "The request failed after part of the change was saved, so it was not repeated. Check what was saved "
                        + "before repeating the request, or repeat it with the same idempotency key.");
        problem.setType(FAILED_AFTER_COMMIT);
        problem.setTitle("Failed after commit");
        return ResponseEntity.status(HttpStatus.INTERNAL_SERVER_ERROR).body(problem);
    }

    /**
     * A transient failure that was not retried because of an entity the caller passed in: 503 with
     * {@code Retry-After}, since nothing was committed and a repeated request loads fresh state.
     * @param ex the refusal
     * @return the problem response
     */
    @ExceptionHandler
    public ResponseEntity<ProblemDetail> entityStateNotRetryable(EntityStateNotRetryableException ex) {
        // The engine has logged the refusal, with what to change, once at ERROR.
        logger.debug("resilient-db: answering 503, not retried because of the caller's entities: " + describe(ex));
        ProblemDetail problem = unavailableProblem();
        problem.setType(ENTITY_STATE_NOT_RETRYABLE);
        problem.setTitle("Not retried");
        problem.setDetail("The database failed briefly and the change could not be retried safely; nothing was saved. "
                + "Try again later.");
        return unavailable(problem, this.retryAfter);
    }

    /**
     * A database or transaction failure: 503 when it is transient (the retries, if any, gave up), else
     * Spring MVC's default handling.
     * @param ex the failure
     * @return the problem response
     * @throws Exception the failure itself when it is not this advice's to answer; Spring MVC then
     * handles it as if this advice had no handler for it
     */
    @ExceptionHandler({ DataAccessException.class, TransactionException.class })
    public ResponseEntity<ProblemDetail> databaseFailure(Exception ex) throws Exception {
        // A write in the application's own read-only transaction carries a 25006, which the classifier
        // calls transient (a demoted primary); here it is the application's bug.
        if (SqlStateFailureClassifier.isOptimisticLockingFailure(ex) || ex instanceof WriteInReadOnlyTransactionException) {
            throw ex;
        }
        FailureClassification classification = this.classifier.classify(ex);
        if (classification == FailureClassification.COMMIT_OUTCOME_UNKNOWN) {
            logOnce("answering 503, commit outcome unknown: ", ex);
            return commitOutcomeUnknown();
        }
        if (classification != FailureClassification.TRANSIENT) {
            throw ex;
        }
        logOnce("answering 503, database unavailable: ", ex);
        return unavailable(this.retryAfter);
    }

    /**
     * Logs the answer at WARN, unless the retry engine has said already, at ERROR, why the caller gets
     * this failure: then at DEBUG, so that an operator reads it once.
     */
    private static void logOnce(String answer, Throwable ex) {
        if (RetryEngine.hasReported(ex)) {
            if (logger.isDebugEnabled()) {
                logger.debug("resilient-db: " + answer + describe(ex));
            }
        }
        else {
            logger.warn("resilient-db: " + answer + describe(ex));
        }
    }

    private static ResponseEntity<ProblemDetail> unavailable(Duration retryAfter) {
        return unavailable(unavailableProblem(), retryAfter);
    }

    private static ProblemDetail unavailableProblem() {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE,
                "The database is unavailable; try again later.");
        problem.setType(DATABASE_UNAVAILABLE);
        problem.setTitle("Database unavailable");
        return problem;
    }

    private static ResponseEntity<ProblemDetail> unavailable(ProblemDetail problem, Duration retryAfter) {
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
            .header(HttpHeaders.RETRY_AFTER, String.valueOf(seconds(retryAfter)))
            .body(problem);
    }

    private static ResponseEntity<ProblemDetail> commitOutcomeUnknown() {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE,
                "The connection to the database failed while the change was being committed, so it may or may not "
                        + "have been saved. Check before repeating the request, or repeat it with the same idempotency key.");
        problem.setType(COMMIT_OUTCOME_UNKNOWN);
        problem.setTitle("Commit outcome unknown");
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body(problem);
    }

    /** Whole seconds, rounded up, at least 1: {@code Retry-After: 0} would invite an immediate retry storm. */
    static long seconds(Duration duration) {
        return Math.max(1, (duration.toMillis() + 999) / 1000);
    }

    /**
     * The exception types down the cause chain and the SQLSTATE, without messages: Spring's JDBC
     * exception messages carry the SQL text and the driver's carry values.
     */
    static String describe(Throwable ex) {
        StringBuilder description = new StringBuilder();
        for (Throwable current = ex; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (description.length() > 0) {
                description.append(" <- ");
            }
            description.append(current.getClass().getName());
            if (current instanceof SQLException) {
                break;
            }
        }
        String state = SqlStates.of(ex);
        return description.append(" (SQLSTATE ").append((state != null) ? state : "none").append(')').toString();
    }

}
