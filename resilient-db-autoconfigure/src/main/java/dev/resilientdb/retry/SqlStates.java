package dev.resilientdb.retry;

import java.sql.SQLException;

/**
 * Reads the SQLSTATE of a failure from its cause chain.
 */
public final class SqlStates {

    private SqlStates() {
    }

    /**
     * The SQLSTATE of the first {@link SQLException} in the cause chain that has one.
     * @param failure any failure
     * @return the five-character SQLSTATE, or {@code null} if the chain carries none
     */
    public static String of(Throwable failure) {
        for (Throwable current = failure; current != null; current = next(current)) {
            if (current instanceof SQLException sql && sql.getSQLState() != null && !sql.getSQLState().isBlank()) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    /**
     * The two-character class of the failure's SQLSTATE ({@code "08"}, {@code "40"}, ...), or
     * {@code "none"} when it has none: the value of the {@code sqlstate.class} meter tag.
     */
    public static String classOf(Throwable failure) {
        String state = of(failure);
        return (state != null && state.length() >= 2) ? state.substring(0, 2) : "none";
    }

    static Throwable next(Throwable current) {
        Throwable cause = current.getCause();
        return (cause != current) ? cause : null;
    }

}
