package dev.resilientdb.retry;

import java.lang.reflect.UndeclaredThrowableException;
import java.util.function.Consumer;

import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.TransactionCallback;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Runs a callback in a transaction, as Spring's {@link TransactionTemplate} does, and runs it
 * again, in a new transaction on a fresh connection, when an attempt fails transiently (see
 * {@link SqlStateFailureClassifier}). The callback must be safe to run more than once (no side
 * effects outside the transaction). Inject it by its own type: it is not a
 * {@code TransactionOperations}, so Spring Boot's own {@code TransactionTemplate} bean stays as it
 * is and code written for it is not retried.
 * <p>
 * When a transaction is already active on the same resource and this template's propagation joins
 * it, the callback runs once and a failure propagates: only the outermost retrying boundary re-runs
 * the whole unit of work. Once a commit inside the unit of work may have happened, it is not re-run
 * unless the template is {@linkplain #idempotent() idempotent}; a commit with an unknown outcome
 * raises {@link CommitOutcomeUnknownException}, unless {@code resilient.db.retry.resolve-commit-outcome}
 * is on and the server proves what happened: the callback's result when its transaction committed,
 * another attempt when nothing of it was stored ({@code afterCommit} callbacks of a transaction
 * confirmed that way did not run).
 * <p>
 * Immutable and thread-safe: derive per-use variants with {@link #with} and {@link #idempotent()}.
 */
public class RetryingTransactionTemplate {

    private final TransactionTemplate transactions;

    private final RetryEngine engine;

    private final RetrySettings settings;

    private final boolean idempotent;

    /**
     * A template with default transaction attributes.
     * @param transactionManager the transaction manager each attempt's transaction comes from
     * @param engine the retry engine
     * @param settings attempts, back-off and deadline
     */
    public RetryingTransactionTemplate(PlatformTransactionManager transactionManager, RetryEngine engine,
            RetrySettings settings) {
        this(transactionManager, TransactionDefinition.withDefaults(), engine, settings, false);
    }

    private RetryingTransactionTemplate(PlatformTransactionManager transactionManager, TransactionDefinition definition,
            RetryEngine engine, RetrySettings settings, boolean idempotent) {
        TransactionBoundary.requireTransactional(definition, () -> "RetryingTransactionTemplate");
        CommitPoints.observe(transactionManager);
        this.transactions = new TransactionTemplate(transactionManager, definition);
        this.engine = engine;
        this.settings = settings;
        this.idempotent = idempotent;
    }

    /**
     * A template with other transaction attributes, retry settings and idempotence, sharing this
     * one's transaction manager and engine.
     * @param definition propagation ({@code REQUIRED}, {@code REQUIRES_NEW}, {@code MANDATORY} or
     * {@code NESTED}), isolation, timeout, read-only and name of each attempt's transaction
     * @param settings attempts, back-off and deadline
     * @param idempotent whether running the unit of work twice is harmless, so that it may run again
     * after a commit that may have happened
     * @throws IllegalArgumentException for a propagation that can run without a transaction
     */
    public RetryingTransactionTemplate with(TransactionDefinition definition, RetrySettings settings, boolean idempotent) {
        return new RetryingTransactionTemplate(getTransactionManager(), definition, this.engine, settings, idempotent);
    }

    /** The same template, with a unit of work that is safe to run twice (see {@link #with}). */
    public RetryingTransactionTemplate idempotent() {
        return with(this.transactions, this.settings, true);
    }

    /** The transaction manager each attempt's transaction comes from. */
    public PlatformTransactionManager getTransactionManager() {
        return this.transactions.getTransactionManager();
    }

    /** The attributes of each attempt's transaction. */
    public TransactionDefinition getTransactionDefinition() {
        return this.transactions;
    }

    /** The retry settings of this template. */
    public RetrySettings getRetrySettings() {
        return this.settings;
    }

    /** Whether a unit of work whose commit may have happened is run again. */
    public boolean isIdempotent() {
        return this.idempotent;
    }

    /**
     * Runs the callback in a transaction, again on transient failures.
     * @return the callback's result in the attempt that committed
     * @throws TransactionException or the callback's own exception, when the engine gives up
     */
    public <T> T execute(TransactionCallback<T> action) throws TransactionException {
        try {
            return this.engine.execute(getTransactionManager(), this.transactions, this.settings, this.idempotent,
                    () -> this.transactions.execute(status -> CommitPoints.returned(status, action.doInTransaction(status))));
        }
        catch (RuntimeException | Error ex) {
            throw ex;
        }
        catch (Throwable ex) {
            throw new UndeclaredThrowableException(ex, "TransactionCallback threw undeclared checked exception");
        }
    }

    /** Runs the action in a transaction, again on transient failures. */
    public void executeWithoutResult(Consumer<TransactionStatus> action) throws TransactionException {
        execute(status -> {
            action.accept(status);
            return null;
        });
    }

}
