package dev.resilientdb.retry;

import java.time.Duration;

/**
 * Told what the retry engine does, for metrics or audit. Every bean of this type is notified;
 * methods run on the caller's thread and must be quick and must not throw.
 */
public interface TransactionRetryListener {

    /**
     * An attempt failed with a transient failure and the unit of work will run again.
     * @param attempt the number of the attempt that failed, from 1
     * @param failure the failure
     * @param delay the back-off before the next attempt
     */
    default void onRetry(int attempt, Throwable failure, Duration delay) {
    }

    /**
     * The unit of work succeeded after at least one retry.
     * @param attempts how many attempts it took
     * @param lastFailure the failure of the attempt before the successful one
     */
    default void onSuccessAfterRetry(int attempts, Throwable lastFailure) {
    }

    /**
     * The unit of work kept failing transiently until the attempts or the deadline ran out; the
     * last failure is thrown to the caller.
     */
    default void onExhausted(int attempts, Throwable lastFailure) {
    }

    /**
     * A commit failed with an unknown outcome and was not retried (the use is not idempotent);
     * a {@link CommitOutcomeUnknownException} is thrown to the caller.
     */
    default void onCommitOutcomeUnknown(int attempt, Throwable failure) {
    }

    /**
     * The server told what became of a transaction whose commit reply was lost: the unit of work
     * succeeded ({@code committed}, or an inner transaction of it committed), or nothing was written
     * and it runs again as after any transient failure.
     * @param pool the name of the pool the transaction ran on
     * @param committed whether the transaction committed
     */
    default void onCommitOutcomeResolved(String pool, boolean committed) {
    }

    /**
     * A commit's reply was lost and the server could not prove what became of the transaction.
     * @param pool the name of the pool the transaction ran on
     * @param reason why, in words (no SQL, no parameters)
     */
    default void onCommitOutcomeUnresolved(String pool, String reason) {
    }

    /**
     * A transient failure would have been retried, but the application-wide retry budget is spent;
     * the failure is thrown to the caller.
     */
    default void onRetryRefused(int attempt, Throwable failure) {
    }

    /**
     * A call failed at once with {@link DatabaseUnavailableException} because the circuit breaker
     * is open.
     */
    default void onFailedFast() {
    }

}
