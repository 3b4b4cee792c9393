package dev.resilientdb.autoconfigure;

import dev.resilientdb.retry.RetryEngine;
import dev.resilientdb.retry.RetryLoop;
import dev.resilientdb.retry.UnitOfWork;

import org.springframework.retry.RetryCallback;
import org.springframework.retry.RetryContext;
import org.springframework.retry.RetryPolicy;
import org.springframework.retry.backoff.BackOffContext;
import org.springframework.retry.backoff.BackOffInterruptedException;
import org.springframework.retry.backoff.BackOffPolicy;
import org.springframework.retry.context.RetryContextSupport;
import org.springframework.retry.support.RetryTemplate;

/**
 * The {@link RetryEngine}'s loop on Spring Retry's {@link RetryTemplate}, for Spring Boot 3.5: one
 * template for every call; the call's decisions travel in its retry context.
 */
public final class SpringRetryLoop implements RetryLoop {

    private static final String DECISIONS = "resilientdb.decisions";

    private static final String DECIDED_FOR = "resilientdb.decidedFor";

    private static final String DECISION = "resilientdb.decision";

    private final RetryTemplate template = new RetryTemplate();

    public SpringRetryLoop() {
        this.template.setRetryPolicy(new DecisionsPolicy());
        this.template.setBackOffPolicy(new DecisionsBackOff());
        this.template.setThrowLastExceptionOnExhausted(true);
    }

    @Override
    public <T> T run(UnitOfWork<T> unitOfWork, Decisions decisions) throws Throwable {
        RetryContext[] context = new RetryContext[1];
        try {
            return this.template.execute((RetryCallback<T, Throwable>) retryContext -> {
                context[0] = retryContext;
                retryContext.setAttribute(DECISIONS, decisions);
                return unitOfWork.run();
            });
        }
        catch (BackOffInterruptedException ex) {
            throw context[0].getLastThrowable();
        }
    }

    /**
     * Asks the engine once per failure: the template asks again after the back-off, and a second
     * decision would charge the retry budget twice.
     */
    private static final class DecisionsPolicy implements RetryPolicy {

        @Override
        public boolean canRetry(RetryContext context) {
            Throwable last = context.getLastThrowable();
            if (last == null) {
                return true;
            }
            Integer decidedFor = (Integer) context.getAttribute(DECIDED_FOR);
            if (decidedFor == null || decidedFor != context.getRetryCount()) {
                context.setAttribute(DECIDED_FOR, context.getRetryCount());
                context.setAttribute(DECISION, ((Decisions) context.getAttribute(DECISIONS)).retryAfter(last));
            }
            return (boolean) context.getAttribute(DECISION);
        }

        @Override
        public RetryContext open(RetryContext parent) {
            return new RetryContextSupport(parent);
        }

        @Override
        public void close(RetryContext context) {
        }

        @Override
        public void registerThrowable(RetryContext context, Throwable throwable) {
            ((RetryContextSupport) context).registerThrowable(throwable);
        }

    }

    private static final class DecisionsBackOff implements BackOffPolicy {

        @Override
        public BackOffContext start(RetryContext context) {
            return new Paused(context);
        }

        @Override
        public void backOff(BackOffContext backOffContext) {
            Decisions decisions = (Decisions) ((Paused) backOffContext).context().getAttribute(DECISIONS);
            if (!decisions.pause()) {
                throw new BackOffInterruptedException("Application is shutting down");
            }
        }

    }

    private record Paused(RetryContext context) implements BackOffContext {
    }

}
