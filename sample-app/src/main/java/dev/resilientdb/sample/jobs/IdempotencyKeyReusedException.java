package dev.resilientdb.sample.jobs;

/**
 * Raised when an {@code Idempotency-Key} that already names a job is sent with a different account
 * or type: answering with the first job would hide the client's mistake.
 */
public class IdempotencyKeyReusedException extends RuntimeException {

    IdempotencyKeyReusedException() {
        super("The Idempotency-Key was already used for a different job");
    }

}
