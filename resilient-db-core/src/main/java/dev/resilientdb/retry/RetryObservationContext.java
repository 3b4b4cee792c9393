package dev.resilientdb.retry;

import io.micrometer.observation.Observation;
import org.jspecify.annotations.Nullable;

/**
 * What the observation of a unit of work that retried knows: its pool, its attempts so far, the last
 * failure and, once it has ended, how. Updated by the retry engine on the caller's thread.
 */
public class RetryObservationContext extends Observation.Context {

    private final String pool;

    private int attempts;

    @Nullable
    private Throwable lastFailure;

    private Outcome outcome = Outcome.RETRYING;

    /**
     * @param pool the name of the pool the unit of work runs on
     */
    public RetryObservationContext(String pool) {
        this.pool = pool;
    }

    /** The name of the pool the unit of work runs on. */
    public String getPool() {
        return this.pool;
    }

    /** Attempts made so far, the first included. */
    public int getAttempts() {
        return this.attempts;
    }

    /** The failure of the last attempt that failed; {@code null} before the first. */
    @Nullable
    public Throwable getLastFailure() {
        return this.lastFailure;
    }

    /** How the unit of work ended, {@link Outcome#RETRYING} while it runs. */
    public Outcome getOutcome() {
        return this.outcome;
    }

    void attemptFailed(int attempt, Throwable failure) {
        this.attempts = attempt;
        this.lastFailure = failure;
    }

    void ended(Outcome outcome, int attempts) {
        this.outcome = outcome;
        this.attempts = attempts;
    }

    /** How a unit of work that retried ended. */
    public enum Outcome {

        /** Not ended yet. */
        RETRYING("retrying"),

        /** A later attempt succeeded. */
        RECOVERED("recovered"),

        /** Transient failures until the attempts or the deadline ran out. */
        GAVE_UP("gave-up"),

        /** The caller was told the outcome of a commit is unknown. */
        COMMIT_OUTCOME_UNKNOWN("commit-outcome-unknown"),

        /** Part of the unit of work had committed, so it was not run again. */
        FAILED_AFTER_COMMIT("failed-after-commit"),

        /** Calls to the database started failing fast, and the unit of work stopped retrying. */
        FAILED_FAST("failed-fast"),

        /** The application-wide retry budget refused a retry. */
        BUDGET_SPENT("budget-spent"),

        /** The application shut down while the unit of work waited to retry. */
        SHUTDOWN("shutdown"),

        /** A later attempt failed with a failure that is not retried. */
        NOT_RETRYABLE("not-retryable");

        private final String value;

        Outcome(String value) {
            this.value = value;
        }

        /** The tag's value. */
        public String value() {
            return this.value;
        }

    }

}
