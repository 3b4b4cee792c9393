package dev.resilientdb.retry;

/**
 * The retry library under {@link RetryEngine}: runs a unit of work, and runs it again for as long as
 * the engine's {@link Decisions} say so. It decides nothing itself. Each Spring Boot line has its own:
 * Spring Retry's {@code RetryTemplate} on Spring Boot 3.5, Spring Framework 7's core retry
 * ({@code org.springframework.core.retry.RetryTemplate}) on Spring Boot 4.
 * <p>
 * Implementations are thread-safe; one serves every call of an engine.
 */
public interface RetryLoop {

    /**
     * Runs the unit of work; after each failure asks {@link Decisions#retryAfter(Throwable)} once,
     * then {@link Decisions#pause()}, then runs it again.
     * @param unitOfWork one attempt
     * @param decisions the engine's decisions for this call
     * @return the result of the first successful attempt
     * @throws Throwable the last attempt's failure, as thrown, when a decision ends the call
     */
    <T> T run(UnitOfWork<T> unitOfWork, Decisions decisions) throws Throwable;

    /** The engine's decisions for one call of a unit of work. */
    interface Decisions {

        /**
         * Whether the unit of work runs again after this failure; asked exactly once per failed attempt.
         * @param failure the attempt's failure
         * @return {@code true} to pause and run again
         */
        boolean retryAfter(Throwable failure);

        /**
         * Waits the delay decided with the last {@link #retryAfter(Throwable)}.
         * @return {@code false} when the wait ended because the application is shutting down: no
         * attempt follows, and the last failure is thrown
         */
        boolean pause();

    }

}
