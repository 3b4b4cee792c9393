package dev.resilientdb.autoconfigure;

import java.time.Duration;

import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetryLoop;
import dev.resilientdb.retry.UnitOfWork;

import org.springframework.core.retry.RetryException;
import org.springframework.core.retry.RetryPolicy;
import org.springframework.core.retry.RetryTemplate;
import org.springframework.util.backoff.BackOff;
import org.springframework.util.backoff.BackOffExecution;

/**
 * The {@link RetryEngine}'s loop on Spring Framework 7's core retry ({@link RetryTemplate}), for
 * Spring Boot 4. A call's decisions are its retry policy; its back-off waits in
 * {@link Decisions#pause()} rather than in the template's sleep, so that shutdown can end the wait
 * at once, and tells the template to go on at once (0 ms) or to stop.
 */
public final class FrameworkRetryLoop implements RetryLoop {

    @Override
    public <T> T run(UnitOfWork<T> unitOfWork, Decisions decisions) throws Throwable {
        try {
            return new RetryTemplate(new DecisionsPolicy(decisions)).execute(unitOfWork::run);
        }
        catch (RetryException ex) {
            throw ex.getCause();
        }
    }

    private record DecisionsPolicy(Decisions decisions) implements RetryPolicy {

        @Override
        public boolean shouldRetry(Throwable failure) {
            return this.decisions.retryAfter(failure);
        }

        /** No timeout of the template's own: the engine's deadline decides. */
        @Override
        public Duration getTimeout() {
            return Duration.ZERO;
        }

        @Override
        public BackOff getBackOff() {
            return () -> () -> this.decisions.pause() ? 0 : BackOffExecution.STOP;
        }

    }

}
