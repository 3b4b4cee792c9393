package dev.resilientdb.autoconfigure;

import java.sql.SQLException;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Explains a connection refused by PgBouncer because of a startup parameter the PostgreSQL driver
 * sent ({@code unsupported startup parameter: options}), and names the setting that fixes it.
 */
class PoolerRefusedStartupParameterFailureAnalyzer extends AbstractFailureAnalyzer<SQLException> {

    private static final String REFUSAL = "unsupported startup parameter";

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, SQLException cause) {
        String message = cause.getMessage();
        if (message == null || !message.contains(REFUSAL)) {
            return null;
        }
        String description = "The connection pooler in front of PostgreSQL (PgBouncer) refused a startup parameter "
                + "that the PostgreSQL driver sent: " + message;
        return new FailureAnalysis(description, "Set resilient.db.driver.pooler to pgbouncer-transaction or "
                + "pgbouncer-session, as PgBouncer's pool_mode is, so that resilient-db sends the statement timeout "
                + "in a way PgBouncer lets through; and remove options from spring.datasource.url and "
                + "spring.datasource.hikari.data-source-properties.", cause);
    }

}
