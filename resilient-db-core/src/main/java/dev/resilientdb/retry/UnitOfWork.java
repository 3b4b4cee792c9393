package dev.resilientdb.retry;

/**
 * One attempt at a unit of work, as the retry engine runs it: it must start from scratch each
 * time (a new transaction) and may throw anything, checked exceptions included.
 * @param <T> the result
 */
@FunctionalInterface
public interface UnitOfWork<T> {

    /** Runs the attempt. */
    T run() throws Throwable;

}
