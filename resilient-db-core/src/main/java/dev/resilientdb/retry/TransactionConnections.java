package dev.resilientdb.retry;

import java.sql.Connection;
import java.sql.SQLException;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.datasource.JdbcTransactionObjectSupport;
import org.springframework.transaction.support.DefaultTransactionStatus;

/**
 * The JDBC connection of a transaction that Spring's JDBC or JPA transaction manager runs, and
 * whether a fault has closed it: HikariCP closes a connection it marked broken, pgjdbc one after a
 * fatal I/O error.
 */
final class TransactionConnections {

    private TransactionConnections() {
    }

    /** The transaction's connection; {@code null} where it has none, or its JPA provider cannot give it. */
    static @Nullable Connection of(DefaultTransactionStatus status) {
        if (status.getTransaction() instanceof JdbcTransactionObjectSupport transaction && transaction.hasConnectionHolder()) {
            try {
                return transaction.getConnectionHolder().getConnection();
            }
            catch (RuntimeException ex) {
                return null;
            }
        }
        return null;
    }

    /** Whether the connection is known to be closed; {@code false} for none, or when it cannot tell. */
    static boolean isClosed(@Nullable Connection connection) {
        if (connection == null) {
            return false;
        }
        try {
            return connection.isClosed();
        }
        catch (SQLException ex) {
            return false;
        }
    }

}
