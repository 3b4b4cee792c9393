package dev.resilientdb.sample;

import dev.resilientdb.sample.jobs.IdempotencyKeyReusedException;
import dev.resilientdb.sample.jobs.InvalidRequestException;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The API's own RFC 9457 problem bodies: bad input is a 400, an idempotency key sent again with a
 * different job a 422. Spring MVC's own failures (malformed JSON, wrong content type, unknown path)
 * are answered by {@link ResponseEntityExceptionHandler}, which this class extends.
 * <p>
 * Database failures are not mapped here: the starter answers them (503 with the configured
 * {@code Retry-After} while the database is unavailable, 503 without it when a commit's outcome is
 * unknown, see {@code docs/retries.md}). An advice here with a handler for them, or for any
 * supertype of them such as {@code RuntimeException}, would be asked first and win.
 */
@RestControllerAdvice
public class ProblemResponses extends ResponseEntityExceptionHandler {

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

}
