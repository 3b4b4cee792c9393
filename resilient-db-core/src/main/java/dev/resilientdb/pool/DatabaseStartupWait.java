package dev.resilientdb.pool;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

import com.zaxxer.hikari.HikariConfig;
import dev.resilientdb.retry.SqlStates;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Waits at start-up until the database accepts a connection, with a growing back-off, so that an
 * application started before its database waits instead of crash-looping. A rejected login or an
 * unknown database fails at once: waiting does not mend them, and repeating a wrong password can
 * lock the account.
 */
public final class DatabaseStartupWait {

    private static final Log logger = LogFactory.getLog(DatabaseStartupWait.class);

    private static final Duration FIRST_BACK_OFF = Duration.ofMillis(100);

    private static final Duration LONGEST_BACK_OFF = Duration.ofSeconds(5);

    private DatabaseStartupWait() {
    }

    /**
     * Returns once a connection could be opened; logs one INFO line per failed attempt.
     * @param config the pool's configuration (URL, credentials, driver settings)
     * @param patience how long to keep trying
     * @param applicationName the {@code application_name} of the attempts
     * @throws IllegalStateException if the database did not accept a connection in time
     */
    public static void await(HikariConfig config, Duration patience, String applicationName) {
        long start = System.nanoTime();
        Duration backOff = FIRST_BACK_OFF;
        for (int attempt = 1;; attempt++) {
            Duration remaining = patience.minus(Duration.ofNanos(System.nanoTime() - start));
            try (Connection connection = DirectConnections.open(config, applicationName,
                    max(Duration.ofSeconds(1), min(remaining, Duration.ofSeconds(5))))) {
                if (attempt > 1) {
                    logger.info("resilient-db: the database accepted a connection after " + attempt + " attempts");
                }
                return;
            }
            catch (SQLException ex) {
                if (SqlStates.isLoginRejected(ex)) {
                    throw new IllegalStateException(loginRejected(ex), ex);
                }
                if (SqlStates.isPgBouncerStartupParameterRefusal(ex)) {
                    throw new IllegalStateException("PgBouncer refused a startup parameter of the connection; waiting "
                            + "for the database does not mend that", ex);
                }
                remaining = patience.minus(Duration.ofNanos(System.nanoTime() - start));
                if (remaining.compareTo(backOff) <= 0) {
                    throw new IllegalStateException("The database did not accept a connection within "
                            + format(patience) + " (resilient.db.startup.wait-for-database); last failure SQLSTATE "
                            + ex.getSQLState() + " (" + ex.getClass().getSimpleName() + ")" + pgBouncerBackOff(ex), ex);
                }
                logger.info("resilient-db: waiting for the database: attempt " + attempt + " failed with SQLSTATE "
                        + ex.getSQLState() + " (" + ex.getClass().getSimpleName() + ")" + pgBouncerBackOff(ex)
                        + "; next attempt in " + backOff.toMillis() + "ms, giving up in " + format(remaining));
                sleep(backOff);
                backOff = min(backOff.multipliedBy(2), LONGEST_BACK_OFF);
            }
        }
    }

    /** Says what the server rejected and which setting to check; never the password. */
    private static String loginRejected(SQLException ex) {
        boolean unknownDatabase = "3D000".equals(ex.getSQLState())
                || (ex.getMessage() != null && ex.getMessage().contains("no such database"));
        String what = unknownDatabase
                ? "the database does not exist: check the database name in spring.datasource.url"
                : "the login was rejected: check spring.datasource.username and spring.datasource.password";
        return "The database refused the connection with SQLSTATE " + ex.getSQLState() + " (" + ex.getMessage()
                + "), which waiting does not mend, so resilient.db.startup.wait-for-database does not retry it: " + what;
    }

    /** What PgBouncer's login back-off means, when it is the failure; else nothing. */
    private static String pgBouncerBackOff(SQLException ex) {
        return SqlStates.isPgBouncerLoginBackOff(ex) ? ": PgBouncer is refusing logins until its next server login "
                + "attempt (server_login_retry, 15 s by default), because its last login to PostgreSQL failed" : "";
    }

    /** Whole seconds from 10s up, milliseconds below, so that a short wait does not read as "0s". */
    private static String format(Duration duration) {
        if (duration.compareTo(Duration.ofSeconds(10)) >= 0) {
            return duration.toSeconds() + "s";
        }
        return (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
    }

    private static Duration min(Duration a, Duration b) {
        return (a.compareTo(b) <= 0) ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return (a.compareTo(b) >= 0) ? a : b;
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the database", ex);
        }
    }

}
