package dev.resilientdb.retry;

import org.springframework.dao.NonTransientDataAccessException;

/**
 * A write was refused with SQLSTATE 25006 ({@code read_only_sql_transaction}) in a transaction the
 * application itself declared read-only (the unit of work's own, or an inner one it started): the
 * application's mistake, which every attempt would repeat, not a server demoted by a failover. Not
 * retried; the cause is the refused write.
 */
public class WriteInReadOnlyTransactionException extends NonTransientDataAccessException {

    public WriteInReadOnlyTransactionException(String message, Throwable cause) {
        super(message, cause);
    }

}
