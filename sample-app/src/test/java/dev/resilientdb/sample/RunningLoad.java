package dev.resilientdb.sample;

import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.test.PostgresServer;

/**
 * Load for a fault test, timed by what the sample does rather than by the clock: it runs until the
 * test stops it, and {@link #awaitServing} waits until the sample has stored a job of it. On a busy
 * machine the first answers take seconds (6 s in one run); a fault injected a fixed time after the
 * load started would then hit a sample that had not yet served anything, and a fixed duration would
 * end the load too soon after the fault.
 */
final class RunningLoad {

    private static final Duration LONGEST = Duration.ofMinutes(5);

    private final PostgresServer database;

    private final long jobsBefore;

    private final AtomicBoolean stop = new AtomicBoolean();

    private final LongAdder acknowledged = new LongAdder();

    private final CompletableFuture<LoadDriver.Result> result;

    private RunningLoad(LoadDriver.Options options, PostgresServer database) {
        this.database = database;
        this.jobsBefore = storedJobs(database);
        LoadDriver.Options untilStopped = options.withDuration(LONGEST);
        this.result = CompletableFuture
            .supplyAsync(() -> LoadDriver.run(untilStopped, new PrintStream(System.out, true), this.stop, (outcome) -> {
                if (outcome.created()) {
                    this.acknowledged.increment();
                }
            }));
    }

    /** Starts the load (its duration is ignored: it runs until {@link #stop()}, at most 5 minutes). */
    static RunningLoad start(LoadDriver.Options options, PostgresServer database) {
        return new RunningLoad(options, database);
    }

    /** Waits until the sample has stored a job since the load started. */
    RunningLoad awaitServing(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (storedJobs(this.database) <= this.jobsBefore) {
            if (System.nanoTime() > deadline || this.result.isDone()) {
                throw new IllegalStateException("The sample stored no job of the load within " + timeout);
            }
            Thread.sleep(50);
        }
        return this;
    }

    /**
     * Waits until this load itself got a 201, which {@link #awaitServing} cannot tell when several
     * loads share the database.
     */
    RunningLoad awaitAcknowledged(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (this.acknowledged.sum() == 0) {
            if (System.nanoTime() > deadline || this.result.isDone()) {
                throw new IllegalStateException("The load got no 201 within " + timeout);
            }
            Thread.sleep(20);
        }
        return this;
    }

    /** Stops the load (clients send no new request) and returns every request's outcome. */
    LoadDriver.Result stop() {
        this.stop.set(true);
        try {
            return this.result.get(2, TimeUnit.MINUTES);
        }
        catch (Exception ex) {
            throw new IllegalStateException("Load did not finish", ex);
        }
    }

    private static long storedJobs(PostgresServer database) {
        return database.queryLong("SELECT count(*) FROM jobs");
    }

}
