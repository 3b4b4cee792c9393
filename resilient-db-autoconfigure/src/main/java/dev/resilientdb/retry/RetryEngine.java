package dev.resilientdb.retry;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.retry.RetryContext;
import org.springframework.retry.RetryPolicy;
import org.springframework.retry.backoff.BackOffContext;
import org.springframework.retry.backoff.BackOffInterruptedException;
import org.springframework.retry.backoff.BackOffPolicy;
import org.springframework.retry.context.RetryContextSupport;
import org.springframework.retry.support.RetryTemplate;

/**
 * Runs a unit of work again while its failures are transient, within {@link RetrySettings}. This is
 * the only class that uses Spring Retry: moving to another retry library changes this class, not
 * the annotation or the template API. Thread-safe; one instance serves the whole application.
 * <p>
 * Each retry is logged at WARN with the attempt, SQLSTATE and delay; giving up after transient
 * failures is logged once at ERROR. Neither log line carries SQL or parameters. After
 * {@link #close()} (application shutdown), a unit of work waiting to retry stops waiting and its
 * last failure is thrown.
 */
public final class RetryEngine implements AutoCloseable {

    private static final Log logger = LogFactory.getLog(RetryEngine.class);

    private static final String DELAY = "resilientdb.delay";

    private static final String REFUSED = "resilientdb.refused";

    private static final String DECIDED_FOR = "resilientdb.decidedFor";

    private static final String DECISION = "resilientdb.decision";

    private final TransientFailureClassifier classifier;

    private final List<TransactionRetryListener> listeners;

    private final DatabaseCircuitBreaker circuitBreaker;

    private final RetryBudget budget;

    private final CountDownLatch closed = new CountDownLatch(1);

    /** An engine with neither circuit breaker nor retry budget. */
    public RetryEngine(TransientFailureClassifier classifier, List<TransactionRetryListener> listeners) {
        this(classifier, listeners, DatabaseCircuitBreaker.disabled(), RetryBudget.unlimited());
    }

    /**
     * @param classifier decides which failures are retried
     * @param listeners told about retries and give-ups
     * @param circuitBreaker fails calls fast while the database is unavailable
     * @param budget caps retries across the application
     */
    public RetryEngine(TransientFailureClassifier classifier, List<TransactionRetryListener> listeners,
            DatabaseCircuitBreaker circuitBreaker, RetryBudget budget) {
        this.classifier = classifier;
        this.listeners = List.copyOf(listeners);
        this.circuitBreaker = circuitBreaker;
        this.budget = budget;
    }

    /** The circuit breaker's state, for health details and metrics. */
    public String circuitBreakerState() {
        return this.circuitBreaker.state();
    }

    /** The classifier this engine decides with. */
    public TransientFailureClassifier classifier() {
        return this.classifier;
    }

    /**
     * Runs the unit of work, and runs it again on transient failures.
     * @param unitOfWork one attempt; it must start from scratch each time (a fresh transaction)
     * @param settings attempts, back-off and deadline
     * @param idempotent whether a commit with an unknown outcome may be retried
     * @return the result of the first successful attempt
     * @throws RuntimeException the last attempt's failure, as thrown, when the engine gives up
     */
    public <T> T execute(Supplier<T> unitOfWork, RetrySettings settings, boolean idempotent) {
        RetryTemplate template = new RetryTemplate();
        template.setRetryPolicy(new TransientFailurePolicy(settings, idempotent));
        template.setBackOffPolicy(new JitteredExponentialBackOff(settings));
        template.setThrowLastExceptionOnExhausted(true);
        RetryContext[] context = new RetryContext[1];
        this.budget.firstAttempt();
        try {
            T result = template.execute(retryContext -> {
                context[0] = retryContext;
                return this.circuitBreaker.run(unitOfWork);
            });
            if (context[0].getRetryCount() > 0) {
                this.listeners.forEach(listener -> listener.onSuccessAfterRetry(context[0].getRetryCount() + 1,
                        context[0].getLastThrowable()));
            }
            return result;
        }
        catch (BackOffInterruptedException ex) {
            Throwable last = context[0].getLastThrowable();
            logger.warn("resilient-db: not retrying after attempt " + context[0].getRetryCount()
                    + " because the application is shutting down; last failure " + describe(last));
            throw asUnchecked(last);
        }
        catch (DatabaseUnavailableException ex) {
            this.listeners.forEach(TransactionRetryListener::onFailedFast);
            throw ex;
        }
        catch (RuntimeException | Error ex) {
            if (context[0] != null && context[0].hasAttribute(REFUSED)) {
                int attempt = context[0].getRetryCount();
                logger.warn("resilient-db: not retrying after attempt " + attempt + " because the retry budget is spent; "
                        + "failure " + describe(ex));
                this.listeners.forEach(listener -> listener.onRetryRefused(attempt, ex));
            }
            else {
                giveUp(ex, (context[0] != null) ? context[0].getRetryCount() : 1, settings, idempotent);
            }
            throw ex;
        }
    }

    /** Ends every back-off in progress, and any later one, at once. */
    @Override
    public void close() {
        this.closed.countDown();
    }

    private void giveUp(Throwable failure, int attempts, RetrySettings settings, boolean idempotent) {
        FailureClassification classification = this.classifier.classify(failure);
        if (classification == FailureClassification.COMMIT_OUTCOME_UNKNOWN && !idempotent) {
            logger.warn("resilient-db: commit outcome unknown after attempt " + attempts + " (" + describe(failure)
                    + "); not retried because the unit of work is not marked idempotent");
            this.listeners.forEach(listener -> listener.onCommitOutcomeUnknown(attempts, failure));
        }
        else if (classification != FailureClassification.NOT_TRANSIENT) {
            logger.error("resilient-db: giving up after " + attempts + " of at most " + settings.maxAttempts()
                    + " attempts (deadline " + settings.deadline().toMillis() + "ms); last failure " + describe(failure));
            this.listeners.forEach(listener -> listener.onExhausted(attempts, failure));
        }
    }

    private boolean isRetryable(Throwable failure, boolean idempotent) {
        FailureClassification classification = this.classifier.classify(failure);
        return classification == FailureClassification.TRANSIENT
                || (classification == FailureClassification.COMMIT_OUTCOME_UNKNOWN && idempotent);
    }

    /** SQLSTATE, exception type and the first line of the driver's message: never SQL, never parameters. */
    static String describe(Throwable failure) {
        String state = SqlStates.of(failure);
        Throwable cause = failure;
        for (Throwable current = failure; current != null; current = SqlStates.next(current)) {
            cause = current;
            if (current instanceof SQLException) {
                break;
            }
        }
        String message = (cause.getMessage() != null) ? cause.getMessage().lines().findFirst().orElse("") : "";
        if (message.length() > 160) {
            message = message.substring(0, 160) + "...";
        }
        return "SQLSTATE " + ((state != null) ? state : "none") + " (" + cause.getClass().getSimpleName() + ": " + message
                + ")";
    }

    private static RuntimeException asUnchecked(Throwable failure) {
        if (failure instanceof RuntimeException runtime) {
            return runtime;
        }
        if (failure instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(failure);
    }

    /**
     * Retries while the failure is transient, attempts remain, and the next attempt would start
     * before the deadline. The next delay is decided here, so that the deadline check and the
     * back-off agree on it.
     */
    private final class TransientFailurePolicy implements RetryPolicy {

        private final RetrySettings settings;

        private final boolean idempotent;

        TransientFailurePolicy(RetrySettings settings, boolean idempotent) {
            this.settings = settings;
            this.idempotent = idempotent;
        }

        /**
         * Decides once per failure: RetryTemplate asks again after the back-off, when the deadline
         * check would count the back-off twice and the budget would be charged twice.
         */
        @Override
        public boolean canRetry(RetryContext context) {
            Throwable last = context.getLastThrowable();
            if (last == null) {
                return true;
            }
            if (closed.getCount() == 0) {
                return false;
            }
            Integer decidedFor = (Integer) context.getAttribute(DECIDED_FOR);
            if (decidedFor == null || decidedFor != context.getRetryCount()) {
                context.setAttribute(DECIDED_FOR, context.getRetryCount());
                context.setAttribute(DECISION, decide(context, last));
            }
            return (boolean) context.getAttribute(DECISION);
        }

        private boolean decide(RetryContext context, Throwable last) {
            if (context.getRetryCount() >= this.settings.maxAttempts() || !isRetryable(last, this.idempotent)) {
                return false;
            }
            long startedAt = (long) context.getAttribute("startedAt");
            long delayNanos = ((Duration) context.getAttribute(DELAY)).toNanos();
            if (System.nanoTime() + delayNanos - startedAt >= this.settings.deadline().toNanos()) {
                return false;
            }
            if (!budget.tryRetry()) {
                context.setAttribute(REFUSED, true);
                return false;
            }
            return true;
        }

        @Override
        public RetryContext open(RetryContext parent) {
            RetryContextSupport context = new RetryContextSupport(parent);
            context.setAttribute("startedAt", System.nanoTime());
            return context;
        }

        @Override
        public void close(RetryContext context) {
        }

        @Override
        public void registerThrowable(RetryContext context, Throwable throwable) {
            ((RetryContextSupport) context).registerThrowable(throwable);
            context.setAttribute(DELAY, delayAfter(context.getRetryCount(), throwable));
        }

        /**
         * A serialization failure or deadlock (class 40) is over once the other transaction has
         * finished, so its back-off stops growing at the lower contention cap: seconds of waiting would
         * not help it, only let newer transactions take the row first until it runs out of deadline.
         */
        private Duration delayAfter(int failedAttempts, Throwable failure) {
            Duration cap = "40".equals(SqlStates.classOf(failure)) ? this.settings.contentionMaxInterval()
                    : this.settings.maxInterval();
            double base = this.settings.initialInterval().toMillis() * Math.pow(this.settings.multiplier(), failedAttempts - 1);
            double capped = Math.min(base, cap.toMillis());
            double jitter = this.settings.jitter();
            double factor = 1.0 + ((jitter > 0) ? ThreadLocalRandom.current().nextDouble(-jitter, jitter) : 0.0);
            return Duration.ofMillis(Math.max(0, Math.round(capped * factor)));
        }

    }

    /** Sleeps the delay the policy decided, and wakes up at once when the engine is closed. */
    private final class JitteredExponentialBackOff implements BackOffPolicy {

        private final RetrySettings settings;

        JitteredExponentialBackOff(RetrySettings settings) {
            this.settings = settings;
        }

        @Override
        public BackOffContext start(RetryContext context) {
            return new RetryBackOffContext(context);
        }

        @Override
        public void backOff(BackOffContext backOffContext) {
            RetryContext context = ((RetryBackOffContext) backOffContext).context();
            Duration delay = (Duration) context.getAttribute(DELAY);
            Throwable failure = context.getLastThrowable();
            logger.warn("resilient-db: attempt " + context.getRetryCount() + " of " + this.settings.maxAttempts()
                    + " failed with " + describe(failure) + "; retrying in " + delay.toMillis() + "ms");
            listeners.forEach(listener -> listener.onRetry(context.getRetryCount(), failure, delay));
            try {
                if (closed.await(delay.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new BackOffInterruptedException("Application is shutting down");
                }
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new BackOffInterruptedException("Interrupted while waiting to retry", ex);
            }
        }

    }

    private record RetryBackOffContext(RetryContext context) implements BackOffContext {
    }

}
