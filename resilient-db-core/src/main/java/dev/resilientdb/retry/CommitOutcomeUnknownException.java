package dev.resilientdb.retry;

import org.springframework.dao.NonTransientDataAccessException;

/**
 * The connection failed while the transaction was committing, so nobody knows whether it committed.
 * Running the unit of work again could apply it twice, so it is not retried unless the use is marked
 * idempotent; the caller should reconcile (look the result up, or repeat with an idempotency key).
 * With {@code resilient.db.retry.resolve-commit-outcome} on, it is thrown only where the server could
 * not prove the outcome, and its message says why.
 */
public class CommitOutcomeUnknownException extends NonTransientDataAccessException {

    public CommitOutcomeUnknownException(String message, Throwable cause) {
        super(message, cause);
    }

}
