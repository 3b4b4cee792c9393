package dev.resilientdb.autoconfigure;

import java.sql.SQLException;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Explains a connection refused by PgBouncer because of a startup parameter the PostgreSQL driver
 * sent ({@code unsupported startup parameter: options}), and names the setting that fixes it.
 */
class PoolerRefusedStartupParameterFailureAnalyzer extends AbstractFailureAnalyzer<SQLException> {

    private static final String REFUSAL = "unsupported startup parameter";

    @Override
    protected @Nullable FailureAnalysis analyze(Throwable rootFailure, SQLException first) {
        // HikariCP's "Connection is not available" carries the refusal as its cause.
        Throwable cause = first;
        while (cause != null && (cause.getMessage() == null || !cause.getMessage().contains(REFUSAL))) {
            cause = (cause.getCause() != cause) ? cause.getCause() : null;
        }
        if (cause == null) {
            return null;
        }
        String message = cause.getMessage();
        String description = "The connection pooler in front of PostgreSQL (PgBouncer) refused a startup parameter "
                + "that the PostgreSQL driver sent: " + message;
        return new FailureAnalysis(description, "Set resilient.db.driver.pooler to pgbouncer-transaction or "
                + "pgbouncer-session, as PgBouncer's pool_mode is, so that resilient-db sends the statement timeout "
                + "in a way PgBouncer lets through; and remove options from spring.datasource.url and "
                + "spring.datasource.hikari.data-source-properties.", cause);
    }

}
