package dev.resilientdb.retry;

/**
 * What a failure means for the unit of work that raised it.
 */
public enum FailureClassification {

    /** The failure will likely not repeat (a lost connection, a restart, a serialization failure): run the unit of work again. */
    TRANSIENT,

    /** Running the unit of work again gives the same failure (a constraint, a syntax error, bad credentials): give up at once. */
    NOT_TRANSIENT,

    /**
     * The connection failed while committing: the transaction may or may not have committed, so
     * running it again may apply it twice. Retried only where the unit of work is idempotent.
     */
    COMMIT_OUTCOME_UNKNOWN

}
