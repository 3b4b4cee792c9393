package dev.resilientdb.retry;

/**
 * Caps retries across the application: within a sliding window of ten one-second buckets, retries
 * may number at most {@code ratio} times the first attempts plus {@code minRetriesPerSecond} per
 * second, so that a struggling database is not hit by a retry storm. Thread-safe.
 */
public final class RetryBudget {

    private static final int BUCKETS = 10;

    private final double ratio;

    private final int minRetriesPerSecond;

    private final long[] firstAttempts = new long[BUCKETS];

    private final long[] retries = new long[BUCKETS];

    private long currentSecond;

    /**
     * @param ratio retries allowed per first attempt, for example 0.2
     * @param minRetriesPerSecond retries always allowed per second, however few the first attempts
     */
    public RetryBudget(double ratio, int minRetriesPerSecond) {
        this.ratio = ratio;
        this.minRetriesPerSecond = minRetriesPerSecond;
    }

    /** A budget that allows every retry. */
    public static RetryBudget unlimited() {
        return new RetryBudget(Double.POSITIVE_INFINITY, Integer.MAX_VALUE);
    }

    /** Records a unit of work's first attempt. */
    public synchronized void firstAttempt() {
        this.firstAttempts[bucket()]++;
    }

    /** Takes one retry from the budget; {@code false} if the budget is spent. */
    public synchronized boolean tryRetry() {
        int bucket = bucket();
        if (Double.isInfinite(this.ratio)) {
            return true;
        }
        long firsts = 0;
        long spent = 0;
        for (int i = 0; i < BUCKETS; i++) {
            firsts += this.firstAttempts[i];
            spent += this.retries[i];
        }
        if (spent >= this.ratio * firsts + (double) this.minRetriesPerSecond * BUCKETS) {
            return false;
        }
        this.retries[bucket]++;
        return true;
    }

    private int bucket() {
        long second = System.nanoTime() / 1_000_000_000L;
        if (second != this.currentSecond) {
            long elapsed = Math.min(BUCKETS, Math.max(0, second - this.currentSecond));
            for (long s = 1; s <= elapsed; s++) {
                int stale = (int) Math.floorMod(this.currentSecond + s, (long) BUCKETS);
                this.firstAttempts[stale] = 0;
                this.retries[stale] = 0;
            }
            this.currentSecond = second;
        }
        return (int) Math.floorMod(second, (long) BUCKETS);
    }

}
