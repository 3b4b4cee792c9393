package dev.resilientdb.autoconfigure;

import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.TransactionManagerDataSources;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.jdbc.DataSourceUnwrapper;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.ConfigurableTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionExecution;
import org.springframework.transaction.TransactionExecutionListener;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Behind a transaction-pooling PgBouncer, sets at the start of every transaction a transaction manager
 * begins on a HikariCP pool what would otherwise be session state: the isolation level
 * ({@code SET TRANSACTION ISOLATION LEVEL}) and the server-side statement timeout
 * ({@code SET LOCAL statement_timeout}); both end with the transaction.
 * <p>
 * Why: consecutive transactions of one client connection may run on different server connections.
 * PgBouncer refuses the {@code options} startup parameter, a session-level {@code SET} stays behind on
 * whichever server connection ran it, and pgjdbc sets an isolation level with
 * {@code SET SESSION CHARACTERISTICS} before {@code BEGIN}, so the transaction itself may run on a
 * server connection with another level. The isolation level sent is the transaction's own, or, for
 * {@code ISOLATION_DEFAULT}, the pool's {@code transactionIsolation}, else PostgreSQL's READ COMMITTED.
 * <p>
 * What it costs: one more statement per transaction, sent together with the {@code BEGIN} (one round
 * trip), and the pooler's server connection is taken when the transaction begins rather than at its
 * first statement. What it does not cover: statements in autocommit and transactions that no
 * transaction manager bean begins, which run under whatever session state the server connection was
 * left with by any client (the server's defaults at best). A transaction that
 * runs its own {@code SET LOCAL statement_timeout} afterwards overrides it. Thread-safe.
 */
final class TransactionLocalSettings implements TransactionExecutionListener {

    private final PlatformTransactionManager transactionManager;

    @Nullable
    private final String setStatementTimeout;

    private TransactionLocalSettings(PlatformTransactionManager transactionManager, Duration statementTimeout) {
        this.transactionManager = transactionManager;
        this.setStatementTimeout = statementTimeout.isZero() ? null
                : "SET LOCAL statement_timeout = " + statementTimeout.toMillis();
    }

    /**
     * Makes the transaction manager set the isolation level and the statement timeout at the start of
     * each transaction it begins; a second call on the same manager changes nothing.
     * @param transactionManager a transaction manager, usually JDBC's or JPA's
     * @param statementTimeout the statement timeout; 0 sets none
     */
    static void install(ConfigurableTransactionManager transactionManager, Duration statementTimeout) {
        if (!(transactionManager instanceof PlatformTransactionManager platform)
                || transactionManager.getTransactionExecutionListeners().stream()
                    .anyMatch(TransactionLocalSettings.class::isInstance)) {
            return;
        }
        transactionManager.addListener(new TransactionLocalSettings(platform, statementTimeout));
    }

    @Override
    public void afterBegin(TransactionExecution transaction, @Nullable Throwable beginFailure) {
        if (beginFailure != null || !transaction.isNewTransaction() || !(transaction instanceof TransactionStatus status)) {
            return;
        }
        DataSource dataSource = TransactionManagerDataSources.of(this.transactionManager);
        if (dataSource == null) {
            return;
        }
        HikariDataSource pool = DataSourceUnwrapper.unwrap(dataSource, HikariDataSource.class);
        if (pool == null || !(TransactionSynchronizationManager.getResource(dataSource) instanceof ConnectionHolder holder)) {
            return;
        }
        String sql = "SET TRANSACTION ISOLATION LEVEL " + isolationLevel(pool)
                + ((this.setStatementTimeout != null) ? "; " + this.setStatementTimeout : "");
        try (Statement statement = holder.getConnection().createStatement()) {
            statement.execute(sql);
        }
        catch (SQLException | RuntimeException ex) {
            // Left begun, the transaction would keep its connection bound to this thread: end it first.
            try {
                this.transactionManager.rollback(withoutSuspendedResources(status));
            }
            catch (RuntimeException rollbackFailure) {
                ex.addSuppressed(rollbackFailure);
            }
            throw new CannotCreateTransactionException("Could not set the isolation level and statement timeout at "
                    + "the start of the transaction (" + sql + ")", ex);
        }
    }

    /**
     * The status to roll back with: Spring resumes a suspended outer transaction itself when the begin
     * fails, so a rollback that resumed it too would bind it twice and hide this failure behind an
     * {@code IllegalStateException}.
     */
    private static TransactionStatus withoutSuspendedResources(TransactionStatus status) {
        if (!(status instanceof DefaultTransactionStatus current) || current.getSuspendedResources() == null) {
            return status;
        }
        return new DefaultTransactionStatus(current.getTransactionName(), current.getTransaction(),
                current.isNewTransaction(), current.isNewSynchronization(), current.isNested(), current.isReadOnly(),
                current.isDebug(), null);
    }

    /** The transaction's own level (Spring exposes it once the transaction has begun), else the pool's default. */
    private static String isolationLevel(HikariDataSource pool) {
        Integer level = TransactionSynchronizationManager.getCurrentTransactionIsolationLevel();
        if (level == null && pool.getTransactionIsolation() != null) {
            String configured = pool.getTransactionIsolation().toUpperCase(Locale.ROOT).replace("TRANSACTION_", "");
            return switch (configured) {
                case "SERIALIZABLE" -> "SERIALIZABLE";
                case "REPEATABLE_READ" -> "REPEATABLE READ";
                case "READ_UNCOMMITTED" -> "READ UNCOMMITTED";
                default -> "READ COMMITTED";
            };
        }
        if (level == null) {
            return "READ COMMITTED";
        }
        return switch (level) {
            case TransactionDefinition.ISOLATION_SERIALIZABLE -> "SERIALIZABLE";
            case TransactionDefinition.ISOLATION_REPEATABLE_READ -> "REPEATABLE READ";
            case TransactionDefinition.ISOLATION_READ_UNCOMMITTED -> "READ UNCOMMITTED";
            default -> "READ COMMITTED";
        };
    }

}
