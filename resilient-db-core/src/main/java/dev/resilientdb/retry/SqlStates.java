package dev.resilientdb.retry;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Locale;
import java.util.function.Predicate;

import org.jspecify.annotations.Nullable;

/**
 * Reads the SQLSTATE of a failure from its cause chain.
 */
public final class SqlStates {

    /**
     * 25006 {@code read_only_sql_transaction}: a write in a read-only transaction. Unless the
     * application made the transaction read-only, the server refuses writes: a hot standby, or a
     * primary demoted (or fenced) after a failover while the connection was open.
     */
    public static final String READ_ONLY_SQL_TRANSACTION = "25006";

    private static final String PROTOCOL_VIOLATION = "08P01";

    private SqlStates() {
    }

    /**
     * The SQLSTATE of the first {@link SQLException} in the cause chain that has one.
     * @param failure any failure
     * @return the five-character SQLSTATE, or {@code null} if the chain carries none
     */
    public static @Nullable String of(Throwable failure) {
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

    /**
     * Whether the server refused the login for good: class 28, invalid authorization (28P01 a wrong
     * password, 28000 no {@code pg_hba.conf} entry), or 3D000, a database that does not exist. Waiting
     * does not mend either, and repeating a wrong password can lock the account (LDAP, PAM).
     * PgBouncer sends its own refusals as 08P01 {@code protocol_violation}, known only by their message
     * (1.18: "SASL authentication failed", "password authentication failed", "no such database: app").
     */
    public static boolean isLoginRejected(Throwable failure) {
        String state = of(failure);
        if (state == null) {
            return false;
        }
        return state.startsWith("28") || state.equals("3D000")
                || (PROTOCOL_VIOLATION.equals(state) && isPgBouncerLoginRefusal(failure));
    }

    /**
     * Whether PgBouncer refused a startup parameter the driver sent (08P01 "unsupported startup
     * parameter: options", PgBouncer's answer to pgjdbc's {@code options} when resilient.db.driver.pooler
     * does not say it is there): a configuration it never accepts, so waiting or retrying does not mend it.
     */
    public static boolean isPgBouncerStartupParameterRefusal(Throwable failure) {
        return pgBouncerSays(failure, (message) -> message.contains("unsupported startup parameter"));
    }

    /**
     * Whether the server, or the pooler in front of it, refused the connection for good:
     * {@linkplain #isLoginRejected(Throwable) the login}, or
     * {@linkplain #isPgBouncerStartupParameterRefusal(Throwable) a startup parameter}.
     */
    public static boolean isRefusedForGood(Throwable failure) {
        return isLoginRejected(failure) || isPgBouncerStartupParameterRefusal(failure);
    }

    private static boolean isPgBouncerLoginRefusal(Throwable failure) {
        return pgBouncerSays(failure, (message) -> {
            String lowerCase = message.toLowerCase(Locale.ROOT);
            return lowerCase.contains("authentication failed") || lowerCase.contains("no such database")
                    || lowerCase.contains("no such user");
        });
    }

    /**
     * Whether an 08P01 down the cause chain says so in its message: PgBouncer sends all its refusals with
     * that SQLSTATE, told apart only by their messages.
     */
    private static boolean pgBouncerSays(Throwable failure, Predicate<String> message) {
        for (Throwable current = failure; current != null; current = next(current)) {
            if (current instanceof SQLException sql && PROTOCOL_VIOLATION.equals(sql.getSQLState()) && sql.getMessage() != null
                    && message.test(sql.getMessage())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether PgBouncer refused the login because its own login to the server failed recently and it
     * waits {@code server_login_retry} (15 s by default) before it tries again: 08P01 "server login has
     * been failing, try again later (server_login_retry)". The database may be back already; PgBouncer
     * will not know until its next attempt.
     */
    public static boolean isPgBouncerLoginBackOff(Throwable failure) {
        return pgBouncerSays(failure, (message) -> message.contains("server_login_retry"));
    }

    /**
     * Whether the pool ran out of time waiting for a free connection, with nothing wrong with the
     * database: HikariCP's {@link SQLTransientConnectionException} without a connection failure as its cause.
     */
    public static boolean isPoolWaitTimeout(Throwable failure) {
        for (Throwable current = failure; current != null; current = next(current)) {
            if (current instanceof SQLTransientConnectionException) {
                return current.getCause() == null;
            }
        }
        return false;
    }

    /** Whether the failure's SQLSTATE is 25006, a write refused because the transaction is read-only. */
    public static boolean isReadOnlySqlTransaction(Throwable failure) {
        return READ_ONLY_SQL_TRANSACTION.equals(of(failure));
    }

    static @Nullable Throwable next(Throwable current) {
        Throwable cause = current.getCause();
        return (cause != current) ? cause : null;
    }

}
