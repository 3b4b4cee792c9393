package dev.resilientdb.retry;

import org.springframework.dao.NonTransientDataAccessException;

/**
 * The unit of work failed after part or all of it had committed (an inner {@code REQUIRES_NEW}
 * transaction, or its own commit followed by an {@code afterCommit} callback that threw), so it was not
 * run again although its failure, the cause, was transient: running it again could apply what
 * committed twice. Not thrown for a unit of work marked idempotent. The caller should check what was
 * saved, or repeat with an idempotency key, rather than repeat blindly.
 */
public class FailedAfterCommitException extends NonTransientDataAccessException {

    public FailedAfterCommitException(String message, Throwable cause) {
        super(message, cause);
    }

}
