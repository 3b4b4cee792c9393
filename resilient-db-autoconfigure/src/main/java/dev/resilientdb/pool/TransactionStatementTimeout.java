package dev.resilientdb.pool;

import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;

import org.springframework.boot.jdbc.DataSourceUnwrapper;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.lang.Nullable;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.ConfigurableTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionExecution;
import org.springframework.transaction.TransactionExecutionListener;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Sets the server-side statement timeout at the start of every transaction a transaction manager
 * begins on a HikariCP pool: {@code SET LOCAL statement_timeout = ...}, which ends with the
 * transaction. For connections through a transaction-pooling PgBouncer, which refuses the
 * {@code options} startup parameter and on which a session-level {@code SET} would stay behind on
 * whichever server connection ran it.
 * <p>
 * What it costs: one more statement per transaction, sent together with the {@code BEGIN} (one round
 * trip), and the pooler's server connection is taken when the transaction begins rather than at its
 * first statement. What it does not cover: statements outside a Spring-managed transaction
 * (autocommit), which run under the server's default for the role or database. A transaction that
 * sets its own {@code SET LOCAL statement_timeout} afterwards overrides it. Thread-safe.
 */
public final class TransactionStatementTimeout implements TransactionExecutionListener {

    private final PlatformTransactionManager transactionManager;

    private final String setLocal;

    private TransactionStatementTimeout(PlatformTransactionManager transactionManager, Duration timeout) {
        this.transactionManager = transactionManager;
        this.setLocal = "SET LOCAL statement_timeout = " + timeout.toMillis();
    }

    /**
     * Makes the transaction manager set the statement timeout at the start of each transaction it
     * begins; a second call on the same manager changes nothing.
     * @param transactionManager a transaction manager, usually JDBC's or JPA's
     * @param timeout the statement timeout, longer than 0
     */
    public static void install(ConfigurableTransactionManager transactionManager, Duration timeout) {
        if (!(transactionManager instanceof PlatformTransactionManager platform)
                || transactionManager.getTransactionExecutionListeners().stream()
                    .anyMatch(TransactionStatementTimeout.class::isInstance)) {
            return;
        }
        transactionManager.addListener(new TransactionStatementTimeout(platform, timeout));
    }

    @Override
    public void afterBegin(TransactionExecution transaction, @Nullable Throwable beginFailure) {
        if (beginFailure != null || !transaction.isNewTransaction() || !(transaction instanceof TransactionStatus status)) {
            return;
        }
        DataSource dataSource = TransactionManagerDataSources.of(this.transactionManager);
        if (dataSource == null || DataSourceUnwrapper.unwrap(dataSource, HikariDataSource.class) == null
                || !(TransactionSynchronizationManager.getResource(dataSource) instanceof ConnectionHolder holder)) {
            return;
        }
        try (Statement statement = holder.getConnection().createStatement()) {
            statement.execute(this.setLocal);
        }
        catch (SQLException | RuntimeException ex) {
            // Left begun, the transaction would keep its connection bound to this thread: end it first.
            try {
                this.transactionManager.rollback(status);
            }
            catch (RuntimeException rollbackFailure) {
                ex.addSuppressed(rollbackFailure);
            }
            throw new CannotCreateTransactionException("Could not set the statement timeout at the start of the "
                    + "transaction (" + this.setLocal + ")", ex);
        }
    }

    /** For tests and logs: the statement run at the start of each transaction. */
    @Override
    public String toString() {
        return this.setLocal;
    }

}
