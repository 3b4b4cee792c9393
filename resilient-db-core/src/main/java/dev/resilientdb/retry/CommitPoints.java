package dev.resilientdb.retry;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.datasource.JdbcTransactionObjectSupport;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionExecution;
import org.springframework.transaction.TransactionExecutionListener;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.ConfigurableTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.ClassUtils;

/**
 * Observes, for the retry attempt running on the current thread, whether any commit of its unit of
 * work may have happened: its own transaction's, or that of an inner {@code REQUIRES_NEW}. Added to
 * every transaction manager the engine uses, as a {@link TransactionExecutionListener}; it does
 * nothing on a thread that runs no attempt.
 * <p>
 * The commit point is where the transaction manager is about to send the commit
 * ({@link #beforeCommit}). So that a JPA provider's flush, which it would otherwise run inside the
 * commit, is not mistaken for the commit, a writable transaction of an attempt flushes just
 * before that point: a connection lost during the flush then means nothing was committed. With a
 * JPA transaction manager the flush is at the commit point itself, after every
 * {@code beforeCommit} and {@code beforeCompletion} callback, so that what those write (a
 * transactional outbox row) is flushed too.
 * <p>
 * When the attempt resolves unknown commit outcomes, the commit point also asks the server for the
 * transaction's id ({@link CommitOutcomeResolver#capture}), after the flush, on the transaction's own
 * connection. The unit of work's result is kept when it returns inside its own transaction
 * ({@link #returned}), so that a commit the server later confirms can return it.
 */
final class CommitPoints implements TransactionExecutionListener {

    private static final String ENTITY_MANAGER_FACTORY = "jakarta.persistence.EntityManagerFactory";

    private static final ThreadLocal<Attempt> current = new ThreadLocal<>();

    /** Whether the transaction manager's transactions are JPA's, flushed at the commit point. */
    private final boolean flushAtCommitPoint;

    /** The transaction manager this listener was added to. */
    private final PlatformTransactionManager transactionManager;

    private CommitPoints(boolean flushAtCommitPoint, PlatformTransactionManager transactionManager) {
        this.flushAtCommitPoint = flushAtCommitPoint;
        this.transactionManager = transactionManager;
    }

    /**
     * Adds the listener to the transaction manager if it does not have it yet.
     * @throws IllegalStateException if the transaction manager takes no execution listeners
     */
    static void observe(PlatformTransactionManager transactionManager) {
        if (!(transactionManager instanceof ConfigurableTransactionManager configurable)) {
            throw new IllegalStateException("resilient-db retries need a transaction manager that accepts a"
                    + " TransactionExecutionListener (any of Spring's), to see where a commit happens; "
                    + transactionManager.getClass().getName() + " does not");
        }
        synchronized (configurable) {
            if (configurable.getTransactionExecutionListeners().stream().noneMatch(CommitPoints.class::isInstance)) {
                configurable.addListener(new CommitPoints(managesJpaTransactions(transactionManager), transactionManager));
            }
        }
    }

    private static boolean managesJpaTransactions(PlatformTransactionManager transactionManager) {
        return transactionManager instanceof ResourceTransactionManager resourceManager
                && ClassUtils.isPresent(ENTITY_MANAGER_FACTORY, CommitPoints.class.getClassLoader())
                && ClassUtils.resolveClassName(ENTITY_MANAGER_FACTORY, CommitPoints.class.getClassLoader())
                    .isInstance(resourceManager.getResourceFactory());
    }

    /** Starts observing an attempt on this thread, inside any attempt already running here. */
    static Attempt start() {
        return start(null, null);
    }

    /**
     * Starts observing an attempt on this thread, inside any attempt already running here.
     * @param resolver asks each writable transaction of the attempt on the transaction manager for its
     * id before its commit; {@code null} not to
     * @param transactionManager the transaction manager of the unit of work: transactions of other
     * managers (another database, perhaps not PostgreSQL) are not asked
     */
    static Attempt start(@Nullable CommitOutcomeResolver resolver,
            @Nullable PlatformTransactionManager transactionManager) {
        Attempt attempt = new Attempt(current.get(), resolver, transactionManager);
        current.set(attempt);
        return attempt;
    }

    /**
     * Keeps the result of the attempt running on this thread, returned inside its own transaction:
     * what the caller gets if that transaction's commit reply is lost and the server says it committed.
     * @param transaction the transaction the result was computed in; ignored unless it is a new one
     * @return the result
     */
    static <T> T returned(TransactionStatus transaction, T result) {
        Attempt attempt = current.get();
        if (attempt != null && transaction.isNewTransaction()) {
            attempt.own = transaction;
            attempt.result = result;
        }
        return result;
    }

    /** Stops observing the attempt; the enclosing attempt, if any, is observed again. */
    static void end(Attempt attempt) {
        if (attempt.parent != null) {
            current.set(attempt.parent);
        }
        else {
            current.remove();
        }
    }

    @Override
    public void afterBegin(TransactionExecution transaction, Throwable beginFailure) {
        Attempt running = current.get();
        if (running != null && running.first == null && beginFailure == null && transaction.isNewTransaction()) {
            running.first = transaction;
        }
        if (!this.flushAtCommitPoint && beginFailure == null && current.get() != null && !transaction.isReadOnly()
                && transaction instanceof TransactionStatus status && TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(new FlushBeforeCommit(status));
        }
    }

    @Override
    public void beforeCommit(TransactionExecution transaction) {
        if (transaction.isNewTransaction()) {
            if (this.flushAtCommitPoint && current.get() != null && !transaction.isReadOnly()
                    && transaction instanceof TransactionStatus status) {
                status.flush();
            }
            Attempt running = current.get();
            Commit commit = new Commit(transaction);
            if (running != null && running.resolver != null && running.transactionManager == this.transactionManager) {
                capture(running.resolver, transaction, commit);
            }
            for (Attempt attempt = running; attempt != null; attempt = attempt.parent) {
                attempt.committing.add(commit);
            }
        }
    }

    /**
     * Asks for the id of a writable transaction. A read-only one on a JDBC connection of Spring's JDBC
     * or JPA transaction manager wrote nothing: Spring made the connection read-only, and pgjdbc
     * begins its transactions {@code READ ONLY} then (its default {@code readOnlyMode=transaction}).
     */
    private static void capture(CommitOutcomeResolver resolver, TransactionExecution transaction, Commit commit) {
        Connection connection = connectionOf(transaction);
        if (connection != null && transaction.isReadOnly()) {
            commit.wroteNothing = true;
        }
        else if (connection != null) {
            try {
                commit.id = resolver.capture(connection);
                commit.wroteNothing = commit.id == TransactionId.NONE;
            }
            catch (SQLException ex) {
                if (!SqlStateFailureClassifier.isConnectionFailure(ex)) {
                    // The server aborted the transaction, and pgjdbc would report its COMMIT, answered ROLLBACK, as a success.
                    throw new TransactionSystemException("Could not ask the server for the transaction's id before its "
                            + "commit; the transaction is rolled back", ex);
                }
                // The connection failed: the commit cannot reach the server on it, and a server never commits without it.
                commit.neverSent = true;
            }
        }
    }

    /** The JDBC connection of a transaction of Spring's JDBC or JPA transaction manager; {@code null} for others. */
    @Nullable
    private static Connection connectionOf(TransactionExecution transaction) {
        if (transaction instanceof DefaultTransactionStatus status
                && status.getTransaction() instanceof JdbcTransactionObjectSupport jdbcTransaction
                && jdbcTransaction.hasConnectionHolder()) {
            return jdbcTransaction.getConnectionHolder().getConnection();
        }
        return null;
    }

    @Override
    public void afterCommit(TransactionExecution transaction, Throwable commitFailure) {
        for (Attempt attempt = current.get(); attempt != null; attempt = attempt.parent) {
            Commit commit = attempt.removeCommitting(transaction);
            if (commit != null) {
                if (commitFailure == null) {
                    attempt.committed = true;
                }
                else if (SqlStateFailureClassifier.isConnectionFailure(commitFailure)) {
                    attempt.outcomeUnknown = true;
                    attempt.failedCommit = commit;
                }
            }
        }
    }

    /**
     * A transaction manager of the starter found, at a rollback of the calling thread, that the fault
     * had already closed the transaction's connection, and did not let the rollback's failure replace
     * the one that broke the unit of work. The attempts under way on the thread then lost their
     * connection, whatever the application's exception says: with Hibernate, a query that fails in a
     * transaction already marked rollback-only returns {@code null} instead of throwing (HHH-12472),
     * so the unit of work may fail with an exception of its own, such as a missing entity.
     */
    static void rolledBackOnClosedConnection() {
        for (Attempt attempt = current.get(); attempt != null; attempt = attempt.parent) {
            attempt.rolledBackOnClosedConnection = true;
        }
    }

    @Override
    public void afterRollback(TransactionExecution transaction, Throwable rollbackFailure) {
        for (Attempt attempt = current.get(); attempt != null; attempt = attempt.parent) {
            if (transaction.isReadOnly() && transaction.isNewTransaction()) {
                attempt.readOnlyRolledBack = true;
            }
            Commit commit = attempt.removeCommitting(transaction);
            if (commit != null) {
                // After the commit point: the commit failed, and the failure that reaches the caller is
                // the one to judge (a JPA provider rolls back on its own and swallows the reason).
                attempt.commitFailed = true;
                attempt.failedCommit = commit;
            }
            else if (rollbackFailure != null) {
                attempt.rollbackFailed = true;
            }
        }
    }

    /** What one attempt's commits did; read by the engine after the attempt failed. */
    static final class Attempt {

        private final Attempt parent;

        @Nullable
        private final CommitOutcomeResolver resolver;

        /** Transactions of the attempt between their commit point and its outcome; rarely more than one. */
        private final List<Commit> committing = new ArrayList<>(2);

        /** The last commit of the attempt that failed after its commit point. */
        @Nullable
        private Commit failedCommit;

        /** The first transaction the attempt began: its unit of work's own. */
        @Nullable
        private TransactionExecution first;

        /** The attempt's own transaction, once the unit of work returned in it. */
        @Nullable
        private TransactionStatus own;

        @Nullable
        private Object result;

        private boolean committed;

        private boolean outcomeUnknown;

        private boolean commitFailed;

        private boolean rollbackFailed;

        private boolean rolledBackOnClosedConnection;

        private boolean readOnlyRolledBack;

        @Nullable
        private final PlatformTransactionManager transactionManager;

        private Attempt(Attempt parent, @Nullable CommitOutcomeResolver resolver,
                @Nullable PlatformTransactionManager transactionManager) {
            this.parent = parent;
            this.resolver = resolver;
            this.transactionManager = transactionManager;
        }

        @Nullable
        private Commit removeCommitting(TransactionExecution transaction) {
            for (int i = 0; i < this.committing.size(); i++) {
                if (this.committing.get(i).transaction == transaction) {
                    return this.committing.remove(i);
                }
            }
            return null;
        }

        /**
         * The commit of the attempt whose outcome is unknown, with what the server said of it before;
         * {@code null} when the outcome is known or the failure is not about it.
         * @param failure what the attempt threw
         */
        @Nullable
        Commit unknownCommit(Throwable failure) {
            return outcomeUnknown(failure) ? this.failedCommit : null;
        }

        /** Whether the commit is that of the attempt's own transaction, after the unit of work returned in it. */
        boolean isOwn(Commit commit) {
            return this.own != null && commit.transaction == this.own;
        }

        /**
         * Whether the commit is that of the attempt's own transaction although the unit of work's
         * result was not kept (a proxy the result advice could not join): the server's "committed"
         * cannot then be returned as the unit of work's result.
         */
        boolean isOwnWithoutResult(Commit commit) {
            return this.own == null && commit.transaction == this.first;
        }

        /** What the unit of work returned in its own transaction. */
        @Nullable
        Object result() {
            return this.result;
        }

        /**
         * Records what the server said of a commit whose outcome was unknown, for this attempt and the
         * attempts it runs in: a commit that happened, or one that did not.
         */
        void resolved(Commit commit, boolean committed) {
            for (Attempt attempt = this; attempt != null; attempt = attempt.parent) {
                if (attempt.failedCommit == commit) {
                    attempt.failedCommit = null;
                    attempt.outcomeUnknown = false;
                    attempt.commitFailed = false;
                }
                attempt.committed |= committed;
            }
        }

        /** Whether some commit of the attempt completed: part or all of its work is stored. */
        boolean committed() {
            return this.committed;
        }

        /**
         * Whether a commit of the attempt failed in a way that leaves its outcome unknown: the
         * connection failed after the commit was sent.
         * @param failure what the attempt threw
         */
        boolean outcomeUnknown(Throwable failure) {
            return this.outcomeUnknown || (this.commitFailed && SqlStateFailureClassifier.isConnectionFailure(failure));
        }

        /**
         * Whether a transaction the application declared read-only rolled back during the attempt: the
         * attempt's own, an inner {@code REQUIRES_NEW}, or one on another DataSource. A 25006 that fails
         * the attempt then came from a write in it, the application's own mistake. (A read-only transaction
         * that rolled back for another reason, its failure caught, followed by a demoted primary's 25006
         * in a writable one, is taken for the same mistake: not retried, the safe side.)
         */
        boolean readOnlyTransactionRolledBack() {
            return this.readOnlyRolledBack;
        }

        /**
         * Whether the attempt lost its connection before any commit: a rollback failed, and the
         * failure is a connection failure (Spring's transaction advice then throws the rollback's
         * failure, often without a SQLSTATE: "Connection is closed", instead of the one that broke the
         * unit of work, which was transient), or the starter's transaction manager found the
         * connection closed at the rollback. Nothing can have committed.
         * @param failure what the attempt threw
         */
        boolean connectionLostBeforeCommit(Throwable failure) {
            boolean nothingCommitted = !this.committed && !this.outcomeUnknown && !this.commitFailed
                    && this.committing.isEmpty();
            return nothingCommitted && (this.rolledBackOnClosedConnection
                    || (this.rollbackFailed && SqlStateFailureClassifier.isConnectionFailure(failure)));
        }

    }

    /** A transaction from its commit point to its outcome, and its id when the server gave it before. */
    static final class Commit {

        private final TransactionExecution transaction;

        @Nullable
        private TransactionId id;

        private boolean neverSent;

        private boolean wroteNothing;

        private Commit(TransactionExecution transaction) {
            this.transaction = transaction;
        }

        /** The transaction's id, when the server gave it before the commit was sent. */
        @Nullable
        TransactionId id() {
            return this.id;
        }

        /**
         * Whether the commit cannot have changed anything: the connection failed before it could be
         * sent (a server never commits without it), or the transaction wrote nothing (read-only, or the
         * server had given it no id).
         */
        boolean changedNothing() {
            return this.neverSent || this.wroteNothing;
        }

    }

    /** Flushes a writable transaction's pending changes before its commit point. */
    private record FlushBeforeCommit(TransactionStatus status) implements TransactionSynchronization {

        @Override
        public void beforeCommit(boolean readOnly) {
            if (!readOnly) {
                this.status.flush();
            }
        }

    }

}
