package dev.resilientdb.retry;

import java.util.Set;

import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.TransactionCallback;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.Assert;

/**
 * A {@link TransactionTemplate} that runs the callback again, in a new transaction on a fresh
 * connection, when an attempt fails transiently (see {@link SqlStateFailureClassifier}). Use
 * {@link #execute} and {@link #executeWithoutResult} as with any {@code TransactionTemplate}; the
 * callback must be safe to run more than once (no side effects outside the transaction).
 * <p>
 * When a transaction is already active and this template's propagation joins it, the callback
 * runs once and a failure propagates: only the outermost retrying boundary re-runs the whole unit
 * of work. A commit whose outcome is unknown raises {@link CommitOutcomeUnknownException} and is
 * not retried unless the template is {@linkplain #idempotent idempotent}.
 * <p>
 * The auto-configured bean is shared: derive per-use variants with {@link #with} instead of calling
 * its setters. Thread-safe once configured.
 */
public class RetryingTransactionTemplate extends TransactionTemplate {

    private static final Set<Integer> JOINING = Set.of(PROPAGATION_REQUIRED, PROPAGATION_SUPPORTS,
            PROPAGATION_MANDATORY, PROPAGATION_NESTED);

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
        super(transactionManager, definition);
        this.engine = engine;
        this.settings = settings;
        this.idempotent = idempotent;
    }

    /**
     * A template with other transaction attributes, retry settings and idempotence, sharing this
     * one's transaction manager and engine.
     * @param definition propagation, isolation, timeout, read-only and name of each attempt's transaction
     * @param settings attempts, back-off and deadline
     * @param idempotent whether running the unit of work twice is harmless, so that a commit with an
     * unknown outcome may be retried
     */
    public RetryingTransactionTemplate with(TransactionDefinition definition, RetrySettings settings, boolean idempotent) {
        return new RetryingTransactionTemplate(getTransactionManager(), definition, this.engine, settings, idempotent);
    }

    /** The same template, with a unit of work that is safe to run twice (see {@link #with}). */
    public RetryingTransactionTemplate idempotent() {
        return with(this, this.settings, true);
    }

    /** The retry settings of this template. */
    public RetrySettings getRetrySettings() {
        return this.settings;
    }

    /** Whether a commit with an unknown outcome is retried. */
    public boolean isIdempotent() {
        return this.idempotent;
    }

    @Override
    public <T> T execute(TransactionCallback<T> action) throws TransactionException {
        if (joinsActiveTransaction()) {
            return super.execute(action);
        }
        return this.engine.execute(() -> runInNewTransaction(action), this.settings, this.idempotent);
    }

    private boolean joinsActiveTransaction() {
        return TransactionSynchronizationManager.isActualTransactionActive() && JOINING.contains(getPropagationBehavior());
    }

    private <T> T runInNewTransaction(TransactionCallback<T> action) {
        PlatformTransactionManager transactionManager = getTransactionManager();
        Assert.state(transactionManager != null, "No PlatformTransactionManager set");
        TransactionStatus status = transactionManager.getTransaction(this);
        T result;
        try {
            result = action.doInTransaction(status);
        }
        catch (RuntimeException | Error ex) {
            rollback(transactionManager, status, ex);
            throw ex;
        }
        try {
            transactionManager.commit(status);
        }
        catch (RuntimeException ex) {
            if (SqlStateFailureClassifier.isConnectionFailure(ex)) {
                throw new CommitOutcomeUnknownException(
                        "The connection failed while committing; the transaction may or may not have committed", ex);
            }
            throw ex;
        }
        return result;
    }

    private static void rollback(PlatformTransactionManager transactionManager, TransactionStatus status, Throwable failure) {
        try {
            transactionManager.rollback(status);
        }
        catch (RuntimeException | Error rollbackFailure) {
            // The connection that failed the work usually fails the rollback too; the work's failure is what matters.
            failure.addSuppressed(rollbackFailure);
        }
    }

}
