package dev.resilientdb.sample;

import java.sql.SQLException;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.resilientdb.retry.CommitOutcomeUnknownException;
import dev.resilientdb.retry.DatabaseUnavailableException;
import dev.resilientdb.sample.jobs.IdempotencyKeyReusedException;
import dev.resilientdb.sample.jobs.InvalidRequestException;

import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Turns every failure into an RFC 9457 problem body: bad input into 400, a database that stays
 * unavailable after the retries into 503 with {@code Retry-After}, anything else into 500. Bodies and
 * log lines never carry a stack trace, SQL or credentials.
 * <p>
 * Spring MVC's own failures (malformed JSON, wrong content type, unknown path) are answered by
 * {@link ResponseEntityExceptionHandler}, which this class extends.
 */
@RestControllerAdvice
public class ProblemResponses extends ResponseEntityExceptionHandler {

    /** Seconds a client should wait before trying again after a 503. */
    static final String RETRY_AFTER_SECONDS = "2";

    private static final Log log = LogFactory.getLog(ProblemResponses.class);

    /** Fields that break the API's limits. */
    @ExceptionHandler
    ProblemDetail invalidRequest(InvalidRequestException ex) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, ex.getMessage());
        problem.setTitle("Invalid request");
        problem.setProperty("errors", ex.getErrors());
        return problem;
    }

    /** An idempotency key sent again with a different job. */
    @ExceptionHandler
    ProblemDetail idempotencyKeyReused(IdempotencyKeyReusedException ex) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.UNPROCESSABLE_ENTITY, ex.getMessage());
        problem.setTitle("Idempotency-Key reused");
        return problem;
    }

    /**
     * The database could not serve the request even after the retry engine's attempts: the pool had
     * no connection in time, the server was unreachable or restarting, a commit's outcome stayed
     * unknown, or the circuit breaker failed the call fast ({@link DatabaseUnavailableException}, a
     * {@link DataAccessResourceFailureException}). The request may succeed later, so the answer is
     * 503 with {@code Retry-After}; a client that sends an {@code Idempotency-Key} can repeat the
     * request safely. To map another exception to 503, add it to this list.
     * <p>
     * {@link TransactionSystemException} is here because a commit or rollback that fails at the
     * connection level (a connection the server closed) surfaces as one, not as a data access error.
     */
    @ExceptionHandler({ DataAccessResourceFailureException.class, TransientDataAccessException.class,
            CannotCreateTransactionException.class, TransactionSystemException.class,
            CommitOutcomeUnknownException.class })
    ResponseEntity<ProblemDetail> databaseUnavailable(Exception ex) {
        if (ex instanceof DatabaseUnavailableException) {
            // The breaker logs once when it opens and counts each call it fails fast; a line per request
            // would flood the log, and slow every answer, for as long as the outage lasts.
            log.debug("Answering 503, circuit breaker open");
        }
        else {
            log.warn("Answering 503, database unavailable: " + describe(ex));
        }
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE,
                "The database is unavailable; try again later.");
        problem.setTitle("Service unavailable");
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
            .header(HttpHeaders.RETRY_AFTER, retryAfterSeconds(ex))
            .body(problem);
    }

    /**
     * Seconds the client should wait: until the circuit breaker lets trial calls through when it is
     * the breaker that failed the call, else a fixed couple of seconds.
     */
    static String retryAfterSeconds(Exception ex) {
        if (ex instanceof DatabaseUnavailableException unavailable && unavailable.getRetryAfter() != null) {
            long millis = unavailable.getRetryAfter().toMillis();
            return String.valueOf(Math.max(1, (millis + 999) / 1000));
        }
        return RETRY_AFTER_SECONDS;
    }

    /** Any other database failure: a bug or a schema problem, not the client's fault. */
    @ExceptionHandler
    ProblemDetail databaseFailure(DataAccessException ex) {
        log.error("Answering 500, database failure: " + describe(ex));
        return internalError();
    }

    /** Anything else: logged with its stack trace for operators, never shown to the client. */
    @ExceptionHandler
    ProblemDetail unexpected(RuntimeException ex) {
        log.error("Answering 500, unexpected failure", ex);
        return internalError();
    }

    private static ProblemDetail internalError() {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.INTERNAL_SERVER_ERROR,
                "The request failed; it has been logged.");
        problem.setTitle("Internal server error");
        return problem;
    }

    /**
     * The exception types down the cause chain and the SQLSTATE, without messages: Spring's JDBC
     * exception messages carry the SQL text and the driver's carry values.
     */
    static String describe(Throwable ex) {
        StringBuilder description = new StringBuilder();
        String sqlState = null;
        for (Throwable current = ex; current != null && current != current.getCause(); current = current.getCause()) {
            if (description.length() > 0) {
                description.append(" <- ");
            }
            description.append(current.getClass().getName());
            if (sqlState == null && current instanceof SQLException sqlException) {
                sqlState = sqlException.getSQLState();
            }
        }
        if (sqlState != null) {
            description.append(" (SQLSTATE ").append(sqlState).append(')');
        }
        return description.toString();
    }

}
