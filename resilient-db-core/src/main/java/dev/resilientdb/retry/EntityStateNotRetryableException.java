package dev.resilientdb.retry;

import org.springframework.dao.NonTransientDataAccessException;

/**
 * An attempt failed with a transient failure, nothing was committed, and the retry boundary did not
 * run the unit of work again because it could not prove that the next attempt would start from the
 * caller's state: an entity passed in was managed by an {@code EntityManager} bound to the thread
 * (open-in-view), whose rollback detached it with the failed attempt's changes, or it has
 * associations, collections, embedded values or property access, which are not put back. A retry
 * could then apply a change twice or lose it.
 * <p>
 * Pass the entity's id and load it inside the {@link RetryableTransactional} method instead. Since
 * nothing was committed, the whole request may be repeated: it loads fresh state.
 */
public class EntityStateNotRetryableException extends NonTransientDataAccessException {

    public EntityStateNotRetryableException(String message, Throwable cause) {
        super(message, cause);
    }

}
