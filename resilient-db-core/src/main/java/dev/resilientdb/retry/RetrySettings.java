package dev.resilientdb.retry;

import java.time.Duration;

/**
 * How often and how patiently a unit of work is re-run: at most {@code maxAttempts} attempts, with
 * an exponential back-off from {@code initialInterval}, growing by {@code multiplier} up to
 * {@code maxInterval} ({@code contentionMaxInterval} after a serialization failure, deadlock or
 * optimistic-locking conflict), varied at random by {@code ±jitter} (a fraction) but never above that
 * cap, and never beyond {@code deadline} after the first attempt started. An optimistic-locking conflict is retried only
 * up to {@code optimisticLockMaxAttempts} attempts: when the caller sent a stale version, no retry
 * can succeed.
 */
public record RetrySettings(int maxAttempts, Duration initialInterval, double multiplier, Duration maxInterval,
        Duration contentionMaxInterval, double jitter, Duration deadline, int optimisticLockMaxAttempts) {

    /** The default for {@code optimisticLockMaxAttempts}. */
    public static final int DEFAULT_OPTIMISTIC_LOCK_MAX_ATTEMPTS = 3;

    public RetrySettings {
        if (maxAttempts < 1 || optimisticLockMaxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts and optimisticLockMaxAttempts must be at least 1");
        }
        if (multiplier < 1.0 || jitter < 0.0 || jitter > 1.0) {
            throw new IllegalArgumentException("multiplier must be at least 1 and jitter between 0 and 1");
        }
    }

    /** Settings with the default number of attempts for optimistic-locking conflicts. */
    public RetrySettings(int maxAttempts, Duration initialInterval, double multiplier, Duration maxInterval,
            Duration contentionMaxInterval, double jitter, Duration deadline) {
        this(maxAttempts, initialInterval, multiplier, maxInterval, contentionMaxInterval, jitter, deadline,
                DEFAULT_OPTIMISTIC_LOCK_MAX_ATTEMPTS);
    }

    /** The same settings with another maximum number of attempts. */
    public RetrySettings withMaxAttempts(int maxAttempts) {
        return new RetrySettings(maxAttempts, this.initialInterval, this.multiplier, this.maxInterval,
                this.contentionMaxInterval, this.jitter, this.deadline, this.optimisticLockMaxAttempts);
    }

}
