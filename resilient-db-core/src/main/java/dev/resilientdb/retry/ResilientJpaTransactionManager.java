package dev.resilientdb.retry;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;

/**
 * Spring's {@link JpaTransactionManager} whose rollback failure on a connection that is already closed
 * does not replace the failure that broke the transaction: the server discards the transaction with
 * its session, so there was nothing to roll back. Spring would otherwise log "Application exception
 * overridden by rollback exception" (or "Commit exception overridden") at ERROR with a stack trace,
 * for a fault the retry then rides out, and hand the retry engine the rollback's failure. Any other
 * rollback failure is thrown as before. The JPA provider's rollback is still attempted, so that its
 * session ends in the state it expects; with Hibernate the closed connection is the pool's, which
 * HikariCP closed when it marked it broken.
 */
public class ResilientJpaTransactionManager extends JpaTransactionManager {

    private static final Log logger = LogFactory.getLog(ResilientJpaTransactionManager.class);

    @Override
    protected void doRollback(DefaultTransactionStatus status) {
        try {
            super.doRollback(status);
        }
        catch (RuntimeException ex) {
            if (!TransactionConnections.isClosed(TransactionConnections.of(status))) {
                throw ex;
            }
            logger.debug("Rollback failed on a closed connection: the server discards the transaction with its session");
            CommitPoints.rolledBackOnClosedConnection();
        }
    }

}
