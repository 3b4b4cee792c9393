package dev.resilientdb.retry;

import java.lang.reflect.UndeclaredThrowableException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import javax.sql.DataSource;

import dev.resilientdb.pool.DatabaseAvailability;
import dev.resilientdb.pool.DatabaseState;
import dev.resilientdb.pool.TransactionManagerDataSources;
import dev.resilientdb.retry.CommitOutcomeResolver.CommitOutcome;
import dev.resilientdb.retry.RetryObservationContext.Outcome;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionSystemException;

/**
 * Runs a unit of work again while its failures are transient, within {@link RetrySettings}. The
 * engine decides; the retry library of the Spring line in use runs the loop ({@link RetryLoop}), so
 * moving between libraries changes neither the annotation nor the template API. Thread-safe; one
 * instance serves the whole application.
 * <p>
 * A fault the retries ride out is said once per pool, at WARN, when it is over ({@link RetryEpisodes}:
 * how many units of work retried, since when, the longest wait); each attempt is logged at DEBUG with
 * its SQLSTATE and delay. What a caller gets instead of a result (a unit of work that gives up, an
 * unknown commit outcome, a refusal) is logged once, at ERROR, in one line with the SQLSTATE and the
 * decision, and {@linkplain #hasReported(Throwable) marked as reported}, so that the web layer does not
 * say it again. No log line carries SQL or parameters. With an {@link ObservationRegistry}, each unit
 * of work that retries is observed ({@link RetryObservationDocumentation}). After
 * {@link #close()} (application shutdown), a unit of work waiting to retry stops waiting and its
 * last failure is thrown.
 */
public final class RetryEngine implements AutoCloseable {

    private static final Log logger = LogFactory.getLog(RetryEngine.class);

    private static final Object[] NO_ARGUMENTS = {};

    private final TransientFailureClassifier classifier;

    private final List<TransactionRetryListener> listeners;

    private final DatabaseCircuitBreakers circuitBreakers;

    private final RetryBudget budget;

    private final CountDownLatch closed = new CountDownLatch(1);

    private final RetryLoop loop;

    private final Function<DataSource, CommitOutcomeResolver> resolvers;

    private final RetryEpisodes episodes = new RetryEpisodes();

    private static final RetryObservationConvention DEFAULT_OBSERVATION_CONVENTION = new DefaultRetryObservationConvention();

    private volatile ObservationRegistry observationRegistry = ObservationRegistry.NOOP;

    @Nullable
    private volatile RetryObservationConvention observationConvention;

    /** An engine with neither circuit breaker nor retry budget. */
    public RetryEngine(RetryLoop loop, TransientFailureClassifier classifier, List<TransactionRetryListener> listeners) {
        this(loop, classifier, listeners, DatabaseCircuitBreaker.disabled(), RetryBudget.unlimited());
    }

    /** An engine with one circuit breaker for every database. */
    public RetryEngine(RetryLoop loop, TransientFailureClassifier classifier, List<TransactionRetryListener> listeners,
            DatabaseCircuitBreaker circuitBreaker, RetryBudget budget) {
        this(loop, classifier, listeners, DatabaseCircuitBreakers.single(circuitBreaker), budget);
    }

    /**
     * @param loop the retry library that runs the attempts
     * @param classifier decides which failures are retried
     * @param listeners told about retries and give-ups
     * @param circuitBreakers fail calls to a database fast while it is unavailable
     * @param budget caps retries across the application
     */
    public RetryEngine(RetryLoop loop, TransientFailureClassifier classifier, List<TransactionRetryListener> listeners,
            DatabaseCircuitBreakers circuitBreakers, RetryBudget budget) {
        this(loop, classifier, listeners, circuitBreakers, budget, dataSource -> null);
    }

    /**
     * @param loop the retry library that runs the attempts
     * @param classifier decides which failures are retried
     * @param listeners told about retries and give-ups
     * @param circuitBreakers fail calls to a database fast while it is unavailable
     * @param budget caps retries across the application
     * @param resolvers the resolver of unknown commit outcomes of the DataSource of a unit of work's
     * transaction manager, or {@code null} where they are not resolved
     */
    public RetryEngine(RetryLoop loop, TransientFailureClassifier classifier, List<TransactionRetryListener> listeners,
            DatabaseCircuitBreakers circuitBreakers, RetryBudget budget,
            Function<DataSource, CommitOutcomeResolver> resolvers) {
        this.resolvers = resolvers;
        this.loop = loop;
        this.classifier = classifier;
        this.listeners = List.copyOf(listeners);
        this.circuitBreakers = circuitBreakers;
        this.budget = budget;
    }

    /**
     * Observes each unit of work that retries, from its first failed attempt to its end, with the
     * failed attempts as events; units of work that do not retry are not observed. None by default.
     * @param observationRegistry the registry to observe with
     */
    public void setObservationRegistry(ObservationRegistry observationRegistry) {
        this.observationRegistry = observationRegistry;
    }

    /**
     * Replaces the names and tags of those observations ({@link DefaultRetryObservationConvention}).
     * @param observationConvention the convention, or {@code null} for the default one
     */
    public void setObservationConvention(@Nullable RetryObservationConvention observationConvention) {
        this.observationConvention = observationConvention;
    }

    /** The state of the circuit breaker of the application's DataSource, for metrics. */
    public String circuitBreakerState() {
        return this.circuitBreakers.shared().state();
    }

    /** The state of the circuit breaker of a DataSource, for health details and metrics. */
    public String circuitBreakerState(DataSource dataSource) {
        return this.circuitBreakers.forDataSource(dataSource).state();
    }

    /**
     * The view of a DataSource's database that fail-fast decides from, when the starter can probe it
     * (a HikariCP pool); {@code null} otherwise.
     */
    @Nullable
    public DatabaseState databaseState(DataSource dataSource) {
        return this.circuitBreakers.forDataSource(dataSource).databaseState();
    }

    /** The circuit breakers, one per DataSource. */
    public DatabaseCircuitBreakers circuitBreakers() {
        return this.circuitBreakers;
    }

    /** The classifier this engine decides with. */
    public TransientFailureClassifier classifier() {
        return this.classifier;
    }

    /**
     * Runs a unit of work that opens its own transaction from the transaction manager with the
     * definition, and runs it again on transient failures. When that transaction would join one
     * already active on the same resource, the unit of work runs once: the outer boundary retries.
     * @param transactionManager the transaction manager of the unit of work's transaction
     * @param definition the attributes of that transaction
     * @param unitOfWork one attempt; it must start from scratch each time (a new transaction)
     * @param settings attempts, back-off and deadline
     * @param idempotent whether a unit of work whose commit may have happened may run again
     * @return the result of the first successful attempt
     * @throws Throwable the last attempt's failure, as thrown, when the engine gives up;
     * {@link CommitOutcomeUnknownException} when a commit's outcome is unknown and the work is not
     * idempotent; {@link FailedAfterCommitException} when a transient failure came after part of the
     * work had committed and the work is not idempotent; {@link WriteInReadOnlyTransactionException}
     * for a 25006 in a transaction the application declared read-only;
     * {@link DatabaseUnavailableException} while the circuit breaker fails calls fast
     */
    public <T> T execute(PlatformTransactionManager transactionManager, TransactionDefinition definition,
            RetrySettings settings, boolean idempotent, UnitOfWork<T> unitOfWork) throws Throwable {
        return execute(transactionManager, definition, settings, idempotent, NO_ARGUMENTS, unitOfWork);
    }

    /**
     * Runs a unit of work as {@link #execute(PlatformTransactionManager, TransactionDefinition, RetrySettings,
     * boolean, UnitOfWork)} does, for a method called with the given arguments. JPA entities among them
     * are put back as the caller passed them before each retry; where that cannot be proved correct
     * (an entity managed by the open-in-view {@code EntityManager}, or one with associations), a
     * transient failure is not retried but thrown as an {@link EntityStateNotRetryableException}.
     * Other arguments reach each attempt as they are.
     * @param arguments the method's arguments, the same objects every attempt receives
     * @throws Throwable as the other variant, and {@link EntityStateNotRetryableException}
     */
    public <T> T execute(PlatformTransactionManager transactionManager, TransactionDefinition definition,
            RetrySettings settings, boolean idempotent, Object[] arguments, UnitOfWork<T> unitOfWork) throws Throwable {
        if (TransactionBoundary.joinsActiveTransaction(transactionManager, definition)) {
            TransactionBoundary.rejectConflictingJoin(definition);
            return unitOfWork.run();
        }
        return retry(unitOfWork, settings, idempotent, definition.isReadOnly(),
                this.circuitBreakers.forTransactionManager(transactionManager),
                CallerEntities.of(transactionManager, arguments),
                TransactionBoundary.holdsConnectionOf(transactionManager), transactionManager,
                resolverOf(transactionManager));
    }

    @Nullable
    private CommitOutcomeResolver resolverOf(PlatformTransactionManager transactionManager) {
        DataSource dataSource = TransactionManagerDataSources.of(transactionManager);
        return (dataSource != null) ? this.resolvers.apply(dataSource) : null;
    }

    /**
     * Runs a unit of work, and runs it again on transient failures, through the shared circuit breaker.
     * No boundary rules apply: no join check, no transaction of its own, not read-only. Package-private
     * for that reason (the engine's own tests use it); applications retry through
     * {@link RetryingTransactionTemplate} or {@link RetryableTransactional}.
     * @param unitOfWork one attempt; it must start from scratch each time (a fresh transaction)
     * @param settings attempts, back-off and deadline
     * @param idempotent whether a unit of work whose commit may have happened may run again
     * @return the result of the first successful attempt
     * @throws RuntimeException the last attempt's failure, as thrown, when the engine gives up
     */
    <T> T execute(Supplier<T> unitOfWork, RetrySettings settings, boolean idempotent) {
        try {
            return retry(unitOfWork::get, settings, idempotent, false, this.circuitBreakers.shared(),
                    CallerEntities.none(), false, null, null);
        }
        catch (RuntimeException | Error ex) {
            throw ex;
        }
        catch (Throwable ex) {
            throw new UndeclaredThrowableException(ex);
        }
    }

    private <T> T retry(UnitOfWork<T> unitOfWork, RetrySettings settings, boolean idempotent, boolean readOnly,
            DatabaseCircuitBreaker circuitBreaker, CallerEntities callerEntities, boolean holdsPoolConnection,
            @Nullable PlatformTransactionManager transactionManager,
            @Nullable CommitOutcomeResolver resolver) throws Throwable {
        boolean[] permitted = { false };
        try {
            return circuitBreaker.call(() -> {
                permitted[0] = true;
                return retryWithin(unitOfWork, new Call(settings, idempotent, readOnly, circuitBreaker, callerEntities,
                        holdsPoolConnection, transactionManager, resolver));
            }, readOnly);
        }
        catch (DatabaseUnavailableException ex) {
            if (!permitted[0]) {
                this.listeners.forEach(TransactionRetryListener::onFailedFast);
            }
            throw ex;
        }
    }

    private <T> T retryWithin(UnitOfWork<T> unitOfWork, Call call) throws Throwable {
        this.budget.firstAttempt();
        try {
            T result = this.loop.run(() -> attempt(unitOfWork, call), call);
            if (call.failedAttempts > 0) {
                Throwable lastFailure = call.lastFailure();
                this.listeners.forEach(listener -> listener.onSuccessAfterRetry(call.failedAttempts + 1, lastFailure));
            }
            call.ended(null);
            return result;
        }
        catch (Throwable ex) {
            Throwable surfaced = surfaced(ex, call);
            call.ended(surfaced);
            if (reportGivingUp(ex, call)) {
                ReportedFailures.add(surfaced);
            }
            throw surfaced;
        }
    }

    /**
     * Logs, once, why the caller gets a failure instead of a result.
     * @return whether it was said (or the database's state said it for every caller it stops)
     */
    private boolean reportGivingUp(Throwable ex, Call call) {
        int attempts = Math.max(call.failedAttempts, 1);
        if (call.entitiesNotRetryable != null) {
            logger.error("resilient-db: not retrying after attempt " + attempts + " (" + describe(ex) + ") because "
                    + call.callerEntities.whyNotRetryable() + "; pass the id and load the entity inside the method");
            return true;
        }
        if (call.shuttingDown) {
            logger.warn("resilient-db: not retrying after attempt " + attempts
                    + " because the application is shutting down; last failure " + describe(ex));
        }
        else if (call.refused) {
            logger.error("resilient-db: not retrying after attempt " + attempts + " because the retry budget is spent; "
                    + "failure " + describe(ex));
            this.listeners.forEach(listener -> listener.onRetryRefused(attempts, ex));
        }
        else if (call.waitsOnItself) {
            logger.error("resilient-db: not retrying after attempt " + attempts + " because the pool had no "
                    + "connection for a new transaction while this thread's suspended transaction holds one of its "
                    + "connections, so waiting again cannot free one (raise resilient.db.pool.max-size above the "
                    + "number of concurrent outer transactions, or avoid REQUIRES_NEW); failure " + describe(ex));
        }
        else if (call.breakerOpen && call.outcomeLeftUnknown) {
            logger.error("resilient-db: not retrying after attempt " + attempts + " because calls fail fast now, "
                    + "commit outcome of attempt " + call.outcomeLeftUnknownAttempt + " unknown; failure " + describe(ex));
        }
        else if (call.breakerOpen) {
            // The database's state said once, at ERROR, that calls fail fast; each caller it stops is detail.
            logger.debug("resilient-db: not retrying after attempt " + attempts
                    + " because calls fail fast now; failure " + describe(ex));
        }
        else {
            return giveUp(ex, attempts, call);
        }
        return true;
    }

    /**
     * Whether a retry engine has logged this failure, or one of its causes, as what a caller gets: the
     * web layer, which answers the caller, then logs it at DEBUG only.
     * @param failure what reached the caller
     * @return whether it was said already
     */
    public static boolean hasReported(Throwable failure) {
        return ReportedFailures.contains(failure);
    }

    /**
     * The failure as the caller gets it. Where the engine did not run the unit of work again because
     * part of it had committed, or because it wrote in a transaction it declared read-only, a
     * transient-looking failure would tell the caller (and a web client) to try again: it is wrapped
     * in an exception that says what happened.
     */
    private Throwable surfaced(Throwable failure, Call call) {
        if (call.entitiesNotRetryable != null) {
            return call.entitiesNotRetryable;
        }
        if (call.outcomeLeftUnknown && !outcomeUnknown(failure) && endedTransiently(failure, call)) {
            // Nothing an attempt after the unknown commit learned says whether it happened.
            return new CommitOutcomeUnknownException("The connection failed while committing attempt "
                    + call.outcomeLeftUnknownAttempt + "; the transaction may or may not have committed, and the "
                    + "retries that followed failed too", failure);
        }
        if (call.breakerOpen && !(failure instanceof DatabaseUnavailableException)) {
            return call.circuitBreaker.unavailable(failure);
        }
        if (call.ownReadOnlyWrite(failure)) {
            return (failure instanceof WriteInReadOnlyTransactionException) ? failure
                    : new WriteInReadOnlyTransactionException("A write was refused (SQLSTATE 25006) in a transaction "
                            + "the application declared read-only; not retried", failure);
        }
        if (call.committed && !call.idempotent && !(failure instanceof FailedAfterCommitException)
                && !outcomeUnknown(failure)
                && (call.connectionLost || call.lostCommitReply
                        || this.classifier.classify(failure) == FailureClassification.TRANSIENT)) {
            return new FailedAfterCommitException("The unit of work failed after part of it had committed; "
                    + "not run again because it is not marked idempotent", failure);
        }
        return failure;
    }

    /**
     * Whether the call ended on a failure that says nothing of what was stored: a transient one the
     * retries ran out on, the breaker's refusal, or the application shutting down.
     */
    private boolean endedTransiently(Throwable failure, Call call) {
        return call.breakerOpen || call.shuttingDown || call.refused || call.connectionLost || call.lostCommitReply
                || failure instanceof DatabaseUnavailableException
                || this.classifier.classify(failure) == FailureClassification.TRANSIENT;
    }

    /**
     * Runs one attempt, observing its commits. A failure after a commit whose outcome is unknown is
     * resolved by asking the server where it can be; where it cannot, it is thrown as a
     * {@link CommitOutcomeUnknownException}. Whether any commit completed is kept for the policy.
     */
    private <T> T attempt(UnitOfWork<T> unitOfWork, Call call) throws Throwable {
        if (call.failedAttempts > 0) {
            RequestBoundEntityManagers.renew();
            call.callerEntities.restore();
        }
        call.unresolved = null;
        call.lostCommitReply = false;
        CommitPoints.Attempt commits = CommitPoints.start(call.resolver, call.transactionManager);
        try {
            return unitOfWork.run();
        }
        catch (Throwable ex) {
            Throwable failure = withoutRollbackFailure(ex);
            call.committed = commits.committed();
            // A lost connection overrides the classifier only for a failure it cannot judge, one without a
            // SQLSTATE ("Connection is closed"): one with a SQLSTATE is the classifier's, and the application's
            // rules (non-retryable-sql-states, its own classifier) win.
            call.connectionLost = commits.connectionLostBeforeCommit(failure) && SqlStates.of(failure) == null;
            call.readOnlyRolledBack = commits.readOnlyTransactionRolledBack();
            if (!call.ownReadOnlyWrite(failure)) {
                call.circuitBreaker.attemptFailed(failure);
            }
            if (commits.outcomeUnknown(failure) && !SqlStateFailureClassifier.isCommitOutcomeUnknown(failure)) {
                return afterLostCommitReply(failure, commits, call);
            }
            throw failure;
        }
        finally {
            CommitPoints.end(commits);
        }
    }

    /**
     * What an attempt whose commit reply was lost ends with: the unit of work's result when the server
     * proves its own transaction committed; the failure, to be retried as a lost connection, when it
     * proves nothing of it was stored; otherwise a {@link CommitOutcomeUnknownException}.
     */
    private <T> T afterLostCommitReply(Throwable failure, CommitPoints.Attempt commits, Call call) throws Throwable {
        CommitPoints.Commit commit = commits.unknownCommit(failure);
        CommitOutcome outcome = resolve(commit, commits, call);
        Boolean known = outcome.committed();
        CommitOutcomeResolver resolver = call.resolver;
        // Known only where there was a commit to ask about and a resolver that asked.
        if (known != null && commit != null && resolver != null) {
            boolean committed = known;
            commits.resolved(commit, committed);
            call.committed = commits.committed();
            this.listeners.forEach(listener -> listener.onCommitOutcomeResolved(resolver.name(), committed));
            if (committed && commits.isOwn(commit)) {
                logger.debug("resilient-db: the server confirmed the commit whose reply was lost (" + describe(failure)
                        + "); the unit of work succeeded");
                return resultOf(commits.result());
            }
            logger.debug("resilient-db: the server says the transaction whose commit reply was lost "
                    + (committed ? "committed" : "did not commit") + " (" + describe(failure) + ")");
            call.lostCommitReply = true;
            throw failure;
        }
        call.unresolved = outcome.reason();
        if (call.resolver != null) {
            this.listeners.forEach(listener -> listener.onCommitOutcomeUnresolved(call.resolver.name(), outcome.reason()));
        }
        throw new CommitOutcomeUnknownException("The connection failed while committing; the transaction may or may not "
                + "have committed" + ((call.resolver != null) ? " (" + outcome.reason() + ")" : ""), failure);
    }

    /** The unit of work's own result, as it returned it: {@code null} where it returned {@code null}. */
    @SuppressWarnings({ "unchecked", "NullAway" })
    private static <T> T resultOf(@Nullable Object result) {
        return (T) result;
    }

    /**
     * What the server says of a commit whose reply was lost, asked within what is left of the unit of
     * work's deadline.
     */
    private CommitOutcome resolve(CommitPoints.@Nullable Commit commit,
            CommitPoints.Attempt commits, Call call) {
        if (call.resolver == null || commit == null) {
            return CommitOutcome.unresolved("commit outcomes are not resolved for this unit of work");
        }
        if (commit.changedNothing()) {
            return CommitOutcome.ABORTED;
        }
        TransactionId id = commit.id();
        if (id == null) {
            return CommitOutcome.unresolved("the server gave no transaction id before the commit");
        }
        long deadline = call.startedAt + call.settings.deadline().toNanos();
        CommitOutcome outcome = call.resolver.resolve(id, deadline);
        if (Boolean.TRUE.equals(outcome.committed()) && commits.isOwnWithoutResult(commit)) {
            return CommitOutcome.unresolved("the server says it committed, but the unit of work's result was not kept "
                    + "(no result advice on this proxy)");
        }
        return outcome;
    }

    /**
     * The unit of work's own failure where Spring's transaction advice or template replaced it by the
     * failure of the rollback that followed: on a lost connection the rollback fails only because
     * the work did, and the work's failure is the one that says what happened (and whether to retry).
     */
    private static Throwable withoutRollbackFailure(Throwable failure) {
        if (failure instanceof TransactionSystemException rollbackFailure
                && rollbackFailure.getApplicationException() != null) {
            Throwable original = rollbackFailure.getApplicationException();
            original.addSuppressed(rollbackFailure.getCause() != null ? rollbackFailure.getCause() : rollbackFailure);
            return original;
        }
        return failure;
    }

    /** Ends every back-off in progress, and any later one, at once, and stops the breakers' recovery checks. */
    @Override
    public void close() {
        this.closed.countDown();
        this.circuitBreakers.close();
        this.episodes.close();
    }

    /** Logs a unit of work that gives up; returns whether it did (not for a failure that is not transient). */
    private boolean giveUp(Throwable failure, int attempts, Call call) {
        if (call.ownReadOnlyWrite(failure)) {
            return false;
        }
        RetrySettings settings = call.settings;
        boolean idempotent = call.idempotent;
        boolean committed = call.committed;
        boolean connectionLost = call.connectionLost;
        if (outcomeUnknown(failure) && !idempotent) {
            logger.error("resilient-db: commit outcome unknown after attempt " + attempts + " (" + describe(failure)
                    + ((call.unresolved != null && call.resolver != null) ? "; not resolved: " + call.unresolved : "")
                    + "); not retried because the unit of work is not marked idempotent");
            this.listeners.forEach(listener -> listener.onCommitOutcomeUnknown(attempts, failure));
        }
        else if (committed && !idempotent) {
            logger.error("resilient-db: attempt " + attempts + " failed after part of the unit of work committed ("
                    + describe(failure) + "); not retried because the unit of work is not marked idempotent");
        }
        else if (connectionLost || call.lostCommitReply
                || this.classifier.classify(failure) != FailureClassification.NOT_TRANSIENT) {
            logger.error("resilient-db: giving up after " + attempts + " of at most " + settings.maxAttempts()
                    + " attempts (deadline " + settings.deadline().toMillis() + "ms)"
                    + ((outcomeUnknown(failure) || call.outcomeLeftUnknown) ? ", commit outcome unknown" : "")
                    + "; last failure " + describe(failure));
            this.listeners.forEach(listener -> listener.onExhausted(attempts, failure));
        }
        else {
            return false;
        }
        return true;
    }

    /**
     * Whether a commit's outcome is unknown, by the engine's own rule or the classifier's: a custom
     * classifier cannot make such a failure look transient.
     */
    private boolean outcomeUnknown(Throwable failure) {
        return SqlStateFailureClassifier.isCommitOutcomeUnknown(failure)
                || this.classifier.classify(failure) == FailureClassification.COMMIT_OUTCOME_UNKNOWN;
    }

    /**
     * A unit of work whose commit may have happened (unknown outcome, or an inner commit completed)
     * runs again only when idempotent; anything else only when the classifier calls it transient, or
     * it is a lost commit reply the server has answered for (a lost connection).
     */
    private boolean isRetryable(Throwable failure, boolean committed, boolean idempotent, boolean lostCommitReply) {
        boolean unknown = outcomeUnknown(failure);
        boolean transientFailure = lostCommitReply
                || this.classifier.classify(failure) == FailureClassification.TRANSIENT;
        if (unknown || committed) {
            return idempotent && (unknown || transientFailure);
        }
        return transientFailure;
    }

    /** SQLSTATE, exception type and the first line of the driver's message: never SQL, never parameters. */
    static String describe(Throwable failure) {
        String state = SqlStates.of(failure);
        Throwable cause = saying(failure);
        String message = (cause.getMessage() != null) ? cause.getMessage().lines().findFirst().orElse("") : "";
        if (message.length() > 160) {
            message = message.substring(0, 160) + "...";
        }
        return "SQLSTATE " + ((state != null) ? state : "none") + " (" + cause.getClass().getSimpleName() + ": " + message
                + ")";
    }

    /** The simple name of the exception that says what failed: the first {@link SQLException} down the chain. */
    static String failureType(Throwable failure) {
        return saying(failure).getClass().getSimpleName();
    }

    private static Throwable saying(Throwable failure) {
        Throwable cause = failure;
        for (Throwable current = failure; current != null; current = SqlStates.next(current)) {
            cause = current;
            if (current instanceof SQLException) {
                break;
            }
        }
        return cause;
    }

    /**
     * One call of a unit of work: what it asked of the engine, what its attempts showed, and the
     * decisions taken on them. Retries while the failure is transient, attempts remain, and the next
     * attempt would start before the deadline; the delay is decided with the retry, so that the
     * deadline check and the back-off agree on it. Used by one thread at a time.
     */
    private final class Call implements RetryLoop.Decisions {

        private final RetrySettings settings;

        private final boolean idempotent;

        /** Whether the application declared the unit of work's transaction read-only. */
        private final boolean readOnly;

        /** Whether a read-only transaction of the last attempt, its own or an inner one, rolled back. */
        private boolean readOnlyRolledBack;

        private final DatabaseCircuitBreaker circuitBreaker;

        /** The entities among the arguments, put back before each retry, or why they forbid one. */
        private final CallerEntities callerEntities;

        private final long startedAt = System.nanoTime();

        private int failedAttempts;

        @Nullable
        private Throwable lastFailure;

        private boolean committed;

        private boolean connectionLost;

        private Duration delay = Duration.ZERO;

        private boolean refused;

        private boolean breakerOpen;

        /** Whether this thread holds a connection of the pool in the transaction this boundary suspends. */
        private final boolean holdsPoolConnection;

        private boolean waitsOnItself;

        private boolean shuttingDown;

        /** Set when a retry was refused because of the caller's entities: what the caller gets. */
        @Nullable
        private EntityStateNotRetryableException entitiesNotRetryable;

        /** Asks the server what became of a commit whose reply was lost; {@code null} not to. */
        @Nullable
        private final CommitOutcomeResolver resolver;

        /** The transaction manager of the unit of work, whose transactions the resolver may ask about. */
        @Nullable
        private final PlatformTransactionManager transactionManager;

        /**
         * Whether the last attempt's commit reply was lost and the server told what became of it: its
         * failure is a lost connection, transient, whatever the classifier makes of the exception
         * Spring threw for it ("Connection is closed" from the rollback that followed).
         */
        private boolean lostCommitReply;

        /** The fault episode of the pool this unit of work retried in; {@code null} until it retries. */
        private RetryEpisodes.@Nullable Episode episode;

        /**
         * Whether an attempt's commit outcome stayed unknown (and the unit of work, idempotent, ran
         * again): if the call then fails, the caller must be told that something may have been stored.
         */
        private boolean outcomeLeftUnknown;

        private int outcomeLeftUnknownAttempt;

        /** The observation of this unit of work's retries; {@code null} until it retries, or when not observed. */
        @Nullable
        private Observed observed;

        /** Why the server could not tell what became of the last attempt's commit. */
        @Nullable
        private String unresolved;

        Call(RetrySettings settings, boolean idempotent, boolean readOnly, DatabaseCircuitBreaker circuitBreaker,
                CallerEntities callerEntities, boolean holdsPoolConnection,
                @Nullable PlatformTransactionManager transactionManager,
                @Nullable CommitOutcomeResolver resolver) {
            this.transactionManager = transactionManager;
            this.resolver = resolver;
            this.callerEntities = callerEntities;
            this.holdsPoolConnection = holdsPoolConnection;
            this.settings = settings;
            this.idempotent = idempotent;
            this.readOnly = readOnly;
            this.circuitBreaker = circuitBreaker;
        }

        /**
         * Tells the fault episode this unit of work retried in, if any, how it ended, and ends its observation.
         * @param surfaced what the caller gets instead of a result, {@code null} when it succeeded
         */
        void ended(@Nullable Throwable surfaced) {
            if (this.episode != null) {
                this.episode.ended(surfaced == null, System.nanoTime() - this.startedAt);
            }
            Observed observed = this.observed;
            if (observed != null) {
                observed.context().ended(outcomeOf(surfaced),
                        (surfaced == null) ? this.failedAttempts + 1 : this.failedAttempts);
                if (surfaced != null) {
                    observed.observation().error(surfaced);
                }
                observed.scope().close();
                observed.observation().stop();
            }
        }

        /** The failure of the last attempt that failed; only once one has. */
        Throwable lastFailure() {
            Throwable failure = this.lastFailure;
            if (failure == null) {
                throw new IllegalStateException("No attempt has failed yet");
            }
            return failure;
        }

        private Outcome outcomeOf(@Nullable Throwable surfaced) {
            if (surfaced == null) {
                return Outcome.RECOVERED;
            }
            if (surfaced instanceof CommitOutcomeUnknownException || outcomeUnknown(surfaced)) {
                return Outcome.COMMIT_OUTCOME_UNKNOWN;
            }
            if (surfaced instanceof FailedAfterCommitException) {
                return Outcome.FAILED_AFTER_COMMIT;
            }
            if (this.breakerOpen || surfaced instanceof DatabaseUnavailableException) {
                return Outcome.FAILED_FAST;
            }
            if (this.refused) {
                return Outcome.BUDGET_SPENT;
            }
            if (this.shuttingDown) {
                return Outcome.SHUTDOWN;
            }
            Throwable lastFailure = lastFailure();
            boolean transientFailure = this.connectionLost || this.lostCommitReply
                    || classifier.classify(lastFailure) != FailureClassification.NOT_TRANSIENT;
            if (this.waitsOnItself || this.entitiesNotRetryable != null || ownReadOnlyWrite(lastFailure)
                    || !transientFailure) {
                return Outcome.NOT_RETRYABLE;
            }
            return Outcome.GAVE_UP;
        }

        /**
         * Opens the unit of work's observation at its first retry, in scope until it ends (so that the
         * later attempts' own observations are its children), and adds the failed attempt to it.
         */
        private void observeFailedAttempt(Throwable failure) {
            Observed observed = this.observed;
            if (observed == null) {
                ObservationRegistry registry = observationRegistry;
                if (registry.isNoop()) {
                    return;
                }
                RetryObservationContext context = new RetryObservationContext(this.circuitBreaker.name());
                Observation observation = RetryObservationDocumentation.RETRIED_UNIT_OF_WORK
                    .observation(observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> context, registry)
                    .start();
                observed = new Observed(observation, context, observation.openScope());
                this.observed = observed;
            }
            observed.context().attemptFailed(this.failedAttempts, failure);
            String state = SqlStates.of(failure);
            observed.observation().event(RetryObservationDocumentation.Events.ATTEMPT_FAILED.format(this.failedAttempts,
                    (state != null) ? state : "none", failureType(failure), this.delay.toMillis()));
        }

        @Override
        public boolean retryAfter(Throwable failure) {
            this.failedAttempts++;
            this.lastFailure = failure;
            if (!this.outcomeLeftUnknown && outcomeUnknown(failure)) {
                this.outcomeLeftUnknown = true;
                this.outcomeLeftUnknownAttempt = this.failedAttempts;
            }
            this.delay = delayAfter(failure);
            if (closed.getCount() == 0) {
                this.shuttingDown = true;
                return false;
            }
            if (this.failedAttempts >= this.settings.maxAttempts() || ownReadOnlyWrite(failure)
                    || !(this.connectionLost
                            || isRetryable(failure, this.committed, this.idempotent, this.lostCommitReply))) {
                return false;
            }
            if (SqlStateFailureClassifier.isOptimisticLockingFailure(failure)
                    && this.failedAttempts >= this.settings.optimisticLockMaxAttempts()) {
                return false;
            }
            if (this.holdsPoolConnection && SqlStates.isPoolWaitTimeout(failure)) {
                this.waitsOnItself = true;
                return false;
            }
            // The unit of work's own deadline first: one that has run out gives up as such, even as fail-fast engages.
            long left = this.settings.deadline().toNanos() - (System.nanoTime() - this.startedAt);
            if (this.delay.toNanos() >= left) {
                // During a known outage the pause ends early when the database is back: wait out what is left.
                if (left <= 0 || !outageKnown()) {
                    return false;
                }
                this.delay = Duration.ofNanos(left);
            }
            if (this.circuitBreaker.stopsRetrying(this.readOnly)) {
                this.breakerOpen = true;
                return false;
            }
            if (this.callerEntities.whyNotRetryable() != null) {
                // Where something may have committed, the caller gets that outcome (never "nothing was committed").
                if (!this.committed && !outcomeUnknown(failure)) {
                    this.entitiesNotRetryable = new EntityStateNotRetryableException("Attempt " + this.failedAttempts
                            + " failed with a transient failure and nothing was committed, but it was not retried: "
                            + this.callerEntities.whyNotRetryable() + ", so a retry could apply a change twice or lose it. "
                            + "Pass the id and load the entity inside the @RetryableTransactional method.", failure);
                }
                return false;
            }
            if (!budget.tryRetry()) {
                this.refused = true;
                return false;
            }
            return true;
        }

        private boolean outageKnown() {
            DatabaseState databaseState = this.circuitBreaker.databaseState();
            return databaseState != null && databaseState.current().availability() != DatabaseAvailability.UP;
        }

        /**
         * Whether the failure is a write refused (25006) in a transaction the application itself declared
         * read-only (the unit of work's, or an inner one): its own mistake, which every attempt would
         * repeat, not a server demoted by a failover.
         */
        boolean ownReadOnlyWrite(Throwable failure) {
            return ((this.readOnly || this.readOnlyRolledBack) && SqlStates.isReadOnlySqlTransaction(failure))
                    || failure instanceof WriteInReadOnlyTransactionException;
        }

        /**
         * Sleeps the decided delay, and wakes up at once when the engine is closed, when the database
         * comes back after an outage (the next attempt goes at once), or when calls start failing fast
         * (the unit of work stops retrying, its thread released).
         */
        @Override
        public boolean pause() {
            Throwable failure = lastFailure();
            RetryEpisodes.Episode episode = this.episode;
            if (episode == null) {
                episode = episodes.join(this.circuitBreaker.name());
                this.episode = episode;
            }
            episode.failed(failure);
            observeFailedAttempt(failure);
            if (logger.isDebugEnabled()) {
                logger.debug("resilient-db: attempt " + this.failedAttempts + " of " + this.settings.maxAttempts()
                        + " failed with " + describe(failure) + "; retrying in " + this.delay.toMillis() + "ms");
            }
            listeners.forEach(listener -> listener.onRetry(this.failedAttempts, failure, this.delay));
            DatabaseState databaseState = this.circuitBreaker.databaseState();
            boolean cutShort = false;
            try {
                if (databaseState != null) {
                    cutShort = databaseState.awaitTurn(this.delay);
                    this.shuttingDown = closed.getCount() == 0;
                }
                else {
                    this.shuttingDown = closed.await(this.delay.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                this.shuttingDown = true;
            }
            // Released by fail-fast; a pause that ran its course goes on to the attempt, whose outcome decides.
            if (!this.shuttingDown && cutShort && this.circuitBreaker.stopsRetrying(this.readOnly)) {
                this.breakerOpen = true;
                return false;
            }
            return !this.shuttingDown;
        }

        /**
         * A serialization failure, deadlock or optimistic-locking conflict is over once the other
         * transaction has finished, so its back-off stops growing at the lower contention cap: seconds of
         * waiting would not help it, only let newer transactions take the row first until it runs out of deadline.
         * <p>
         * The cap bounds the pause after jitter, not before: a pause is drawn from {@code ±jitter} around
         * the exponential value, but never above the cap. Once the exponential value reaches the cap, pauses
         * are drawn between {@code (1 - jitter) × cap} and the cap, so callers that failed together still
         * spread out instead of all waiting exactly the cap.
         */
        private Duration delayAfter(Throwable failure) {
            long cap = (SqlStateFailureClassifier.isContention(failure) ? this.settings.contentionMaxInterval()
                    : this.settings.maxInterval()).toMillis();
            double base = this.settings.initialInterval().toMillis()
                    * Math.pow(this.settings.multiplier(), this.failedAttempts - 1);
            double capped = Math.min(base, cap);
            double jitter = this.settings.jitter();
            double lowest = capped * (1.0 - jitter);
            double highest = Math.min(capped * (1.0 + jitter), cap);
            double delay = (highest > lowest) ? ThreadLocalRandom.current().nextDouble(lowest, highest) : capped;
            return Duration.ofMillis(Math.max(0, Math.min(cap, Math.round(delay))));
        }

        /** A unit of work's observation, its context and its scope, opened together at its first retry. */
        private record Observed(Observation observation, RetryObservationContext context, Observation.Scope scope) {
        }

    }

}
