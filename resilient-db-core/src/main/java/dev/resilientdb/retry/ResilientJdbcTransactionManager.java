package dev.resilientdb.retry;

import java.sql.Connection;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.DefaultTransactionStatus;

/**
 * Spring's {@link JdbcTransactionManager} that does not roll back on a connection that is already
 * closed: one the pool marked broken (HikariCP does so on a connection failure, SQLSTATE class 08,
 * 57P01 and the like) or the driver closed after a fatal I/O error. The server discards the
 * transaction with its session, so nothing is left to roll back, and the failure that broke the
 * transaction is kept: Spring would otherwise replace it with the rollback's "Connection is closed",
 * logging "Application exception overridden by rollback exception" (or "Commit exception
 * overridden") at ERROR with a stack trace, for a fault the retry then rides out. A rollback that
 * fails because the connection breaks during it is treated the same way; any other rollback
 * failure is thrown as before.
 */
public class ResilientJdbcTransactionManager extends JdbcTransactionManager {

    private static final Log logger = LogFactory.getLog(ResilientJdbcTransactionManager.class);

    public ResilientJdbcTransactionManager(DataSource dataSource) {
        super(dataSource);
    }

    @Override
    protected void doRollback(DefaultTransactionStatus status) {
        Connection connection = TransactionConnections.of(status);
        if (TransactionConnections.isClosed(connection)) {
            logger.debug("Not rolling back on a closed connection: the server discards the transaction with its session");
            CommitPoints.rolledBackOnClosedConnection();
            return;
        }
        try {
            super.doRollback(status);
        }
        catch (TransactionException ex) {
            if (!TransactionConnections.isClosed(connection)) {
                throw ex;
            }
            logger.debug("Rollback failed as the connection broke: the server discards the transaction with its session");
            CommitPoints.rolledBackOnClosedConnection();
        }
    }

}
