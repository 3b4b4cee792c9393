package dev.resilientdb.retry;

import java.util.Set;
import java.util.function.Supplier;

import javax.sql.DataSource;

import dev.resilientdb.pool.TransactionManagerDataSources;

import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.transaction.IllegalTransactionStateException;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.ResourceHolderSupport;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The rules of a retrying boundary: which propagations it accepts, and when it joins a transaction
 * that is already active instead of starting (and retrying) its own.
 */
final class TransactionBoundary {

    private static final Set<Integer> NON_TRANSACTIONAL = Set.of(TransactionDefinition.PROPAGATION_SUPPORTS,
            TransactionDefinition.PROPAGATION_NOT_SUPPORTED, TransactionDefinition.PROPAGATION_NEVER);

    private static final Set<Integer> JOINING = Set.of(TransactionDefinition.PROPAGATION_REQUIRED,
            TransactionDefinition.PROPAGATION_MANDATORY, TransactionDefinition.PROPAGATION_NESTED);

    private static final String[] PROPAGATIONS = { "REQUIRED", "SUPPORTS", "MANDATORY", "REQUIRES_NEW",
            "NOT_SUPPORTED", "NEVER", "NESTED" };

    private TransactionBoundary() {
    }

    /**
     * Rejects propagations that run without a transaction: each statement would commit on its own,
     * so running the unit of work again could repeat statements that already committed.
     * @throws IllegalArgumentException naming the use, the propagation and the fix
     */
    static void requireTransactional(TransactionDefinition definition, Supplier<String> use) {
        int propagation = definition.getPropagationBehavior();
        if (NON_TRANSACTIONAL.contains(propagation)) {
            throw new IllegalArgumentException(use.get() + ": propagation " + PROPAGATIONS[propagation]
                    + " can run without a transaction, where every statement commits on its own and a retry would"
                    + " repeat those that already committed. Use REQUIRED (the default) or REQUIRES_NEW.");
        }
    }

    /**
     * Whether the unit of work joins a transaction that is already active on the resource of its
     * transaction manager (not merely on this thread): then the outer boundary owns the retry.
     */
    static boolean joinsActiveTransaction(PlatformTransactionManager transactionManager, TransactionDefinition definition) {
        if (!JOINING.contains(definition.getPropagationBehavior())
                || !TransactionSynchronizationManager.isActualTransactionActive()) {
            return false;
        }
        if (transactionManager instanceof ResourceTransactionManager resourceManager) {
            Object holder = TransactionSynchronizationManager.getResource(resourceManager.getResourceFactory());
            return holder instanceof ResourceHolderSupport resource && resource.isSynchronizedWithTransaction();
        }
        return true;
    }

    /**
     * Whether this thread already holds a connection of the transaction manager's DataSource, bound by
     * a transaction that a {@code REQUIRES_NEW} boundary suspends: a connection the new transaction
     * cannot have, however long it waits for the pool.
     */
    static boolean holdsConnectionOf(PlatformTransactionManager transactionManager) {
        DataSource dataSource = TransactionManagerDataSources.of(transactionManager);
        return dataSource != null && TransactionSynchronizationManager.getResource(dataSource) instanceof ConnectionHolder;
    }

    /**
     * Fails a join that would silently run with other attributes than the unit of work asks for:
     * another isolation level, or writing inside a read-only transaction (what Spring's
     * {@code validateExistingTransaction} checks, here for retrying boundaries only).
     * @throws IllegalTransactionStateException on such a conflict
     */
    static void rejectConflictingJoin(TransactionDefinition definition) {
        int isolation = definition.getIsolationLevel();
        if (isolation != TransactionDefinition.ISOLATION_DEFAULT) {
            Integer current = TransactionSynchronizationManager.getCurrentTransactionIsolationLevel();
            if (current == null || current != isolation) {
                throw new IllegalTransactionStateException("Retrying transaction '" + definition.getName()
                        + "' asks for isolation " + isolationName(isolation) + " but joins an active transaction with "
                        + ((current != null) ? "isolation " + isolationName(current) : "the default isolation")
                        + "; give the outer transaction the same isolation, or use REQUIRES_NEW");
            }
        }
        if (!definition.isReadOnly() && TransactionSynchronizationManager.isCurrentTransactionReadOnly()) {
            throw new IllegalTransactionStateException("Retrying transaction '" + definition.getName()
                    + "' is not read-only but joins a read-only transaction; make the outer transaction writable,"
                    + " or use REQUIRES_NEW");
        }
    }

    private static String isolationName(int isolation) {
        return switch (isolation) {
            case TransactionDefinition.ISOLATION_READ_UNCOMMITTED -> "READ_UNCOMMITTED";
            case TransactionDefinition.ISOLATION_READ_COMMITTED -> "READ_COMMITTED";
            case TransactionDefinition.ISOLATION_REPEATABLE_READ -> "REPEATABLE_READ";
            case TransactionDefinition.ISOLATION_SERIALIZABLE -> "SERIALIZABLE";
            default -> String.valueOf(isolation);
        };
    }

}
