package dev.resilientdb.retry;

import org.jspecify.annotations.Nullable;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.pool.DaemonThreads;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Says once what a fault did to a pool's units of work, instead of a line per attempt: the retries of
 * one pool that overlap, or follow each other within a quiet period, are one episode, and when it
 * is over (no unit of work of the pool retrying for the quiet period) one WARN line tells what
 * happened, since when, how many units of work retried, the longest wait and how they ended. The
 * attempts themselves are logged at DEBUG by the engine. Thread-safe.
 */
final class RetryEpisodes implements AutoCloseable {

    private static final Log logger = LogFactory.getLog(RetryEngine.class);

    /** How long no unit of work of a pool may retry before its episode is over. */
    static final Duration QUIET = Duration.ofSeconds(2);

    /** SQLSTATEs named in a summary; more are counted, not named. */
    private static final int NAMED_STATES = 4;

    private final Map<String, Episode> episodes = new ConcurrentHashMap<>();

    private final Duration quiet;

    private volatile @Nullable ScheduledExecutorService timer;

    private volatile boolean closed;

    RetryEpisodes() {
        this(QUIET);
    }

    RetryEpisodes(Duration quiet) {
        this.quiet = quiet;
    }

    /**
     * A unit of work of the pool failed for the first time and runs again: it joins the pool's
     * episode, opening one if none is under way.
     * @return the episode, to be told of the unit of work's failures and how it ended
     */
    Episode join(String pool) {
        return this.episodes.compute(pool, (name, current) -> {
            if (current != null && current.join()) {
                return current;
            }
            Episode opened = new Episode(name);
            opened.join();
            return opened;
        });
    }

    private void scheduleEnd(Episode episode) {
        ScheduledExecutorService timer = timer();
        if (timer != null) {
            timer.schedule(episode::endIfQuiet, this.quiet.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private @Nullable ScheduledExecutorService timer() {
        if (this.timer == null && !this.closed) {
            synchronized (this) {
                if (this.timer == null && !this.closed) {
                    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
                            DaemonThreads.named("resilient-db-retry-episodes"));
                    timer.setRemoveOnCancelPolicy(true);
                    this.timer = timer;
                }
            }
        }
        return this.timer;
    }

    /** Says what every episode still under way has done so far, and stops. */
    @Override
    public void close() {
        this.closed = true;
        synchronized (this) {
            if (this.timer != null) {
                this.timer.shutdownNow();
            }
        }
        this.episodes.values().forEach(Episode::end);
    }

    /** The retries of one pool from the first failure until the pool has been quiet for the quiet period. */
    final class Episode {

        private final String pool;

        private final Instant since = Instant.now();

        private final long startedAt = System.nanoTime();

        private final Set<String> states = new LinkedHashSet<>();

        /** Guarded by {@code this}. */
        private int retrying;

        private int units;

        private int recovered;

        private int gaveUp;

        private long longestWait;

        private long lastActivity = System.nanoTime();

        private boolean ended;

        private Episode(String pool) {
            this.pool = pool;
        }

        /** Counts a unit of work in, unless the episode has ended. */
        private synchronized boolean join() {
            if (this.ended) {
                return false;
            }
            this.units++;
            this.retrying++;
            this.lastActivity = System.nanoTime();
            return true;
        }

        /** An attempt of a unit of work of the episode failed, and it runs again. */
        synchronized void failed(Throwable failure) {
            String state = SqlStates.of(failure);
            // Without a SQLSTATE (an exhausted pool, a closed connection) the exception's type says what failed.
            this.states.add((state != null) ? state : "none (" + RetryEngine.failureType(failure) + ")");
            this.lastActivity = System.nanoTime();
        }

        /**
         * A unit of work of the episode ended.
         * @param succeeded whether it succeeded in the end
         * @param waitedNanos how long it took, its first attempt included
         */
        void ended(boolean succeeded, long waitedNanos) {
            boolean quietNow;
            synchronized (this) {
                this.retrying--;
                if (succeeded) {
                    this.recovered++;
                }
                else {
                    this.gaveUp++;
                }
                this.longestWait = Math.max(this.longestWait, waitedNanos);
                this.lastActivity = System.nanoTime();
                quietNow = this.retrying == 0;
            }
            if (quietNow) {
                scheduleEnd(this);
            }
        }

        private void endIfQuiet() {
            synchronized (this) {
                if (this.ended || this.retrying > 0) {
                    return;
                }
                long quietFor = System.nanoTime() - this.lastActivity;
                if (quietFor < RetryEpisodes.this.quiet.toNanos()) {
                    ScheduledExecutorService timer = timer();
                    if (timer != null) {
                        timer.schedule(this::endIfQuiet, RetryEpisodes.this.quiet.toNanos() - quietFor,
                                TimeUnit.NANOSECONDS);
                    }
                    return;
                }
            }
            end();
        }

        private void end() {
            String summary;
            synchronized (this) {
                if (this.ended) {
                    return;
                }
                this.ended = true;
                summary = summary();
            }
            RetryEpisodes.this.episodes.remove(this.pool, this);
            logger.warn(summary);
        }

        /** Guarded by {@code this}. */
        private String summary() {
            String states = String.join(", ", this.states.stream().limit(NAMED_STATES).toList())
                    + ((this.states.size() > NAMED_STATES) ? " and " + (this.states.size() - NAMED_STATES) + " more" : "");
            long lasted = Duration.ofNanos(this.lastActivity - this.startedAt).toMillis();
            String outcome = (this.gaveUp == 0 && this.retrying == 0) ? "all recovered"
                    : this.recovered + " recovered, " + this.gaveUp + " gave up"
                            + ((this.retrying > 0) ? ", " + this.retrying + " still retrying" : "");
            return "resilient-db: pool '" + this.pool + "': " + this.units + ((this.units == 1) ? " unit" : " units")
                    + " of work retried after transient failures (SQLSTATE " + states + ") from " + this.since + " for "
                    + lasted + "ms; longest wait " + Duration.ofNanos(this.longestWait).toMillis() + "ms; " + outcome;
        }

    }

}
