package dev.resilientdb.autoconfigure;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.util.Locale;
import java.util.regex.Pattern;

import dev.resilientdb.retry.SqlStates;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Explains a start-up that failed because PostgreSQL could not be connected to, whichever start-up
 * step connected ({@code resilient.db.startup.wait-for-database}, SQL initialisation, Flyway, JPA,
 * application code through the pool): a wrong password (28P01), an unknown database (3D000), a login
 * that {@code pg_hba.conf} does not let in (28000), a required SSL the server does not offer, a refused
 * connection, an unknown or unreachable host, PgBouncer's login back-off ({@code server_login_retry}).
 * Names the cause in plain words, the JDBC URL without credentials and the property or setting to
 * check; never the password.
 */
class DatabaseConnectionFailureAnalyzer implements FailureAnalyzer, Ordered {

    private static final Pattern USER_INFO = Pattern.compile("//[^/?#]*@");

    private static final String URL_PROPERTY = "spring.datasource.url";

    private final Environment environment;

    DatabaseConnectionFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    public @Nullable FailureAnalysis analyze(Throwable failure) {
        SQLException connectionFailure = connectionFailure(failure);
        if (connectionFailure == null) {
            return null;
        }
        Explanation explanation = explain(connectionFailure);
        if (explanation == null) {
            return null;
        }
        String url = url();
        String waited = waited(failure);
        String description = "resilient-db could not connect to PostgreSQL"
                + ((url != null) ? " at " + url : "") + ": " + explanation.cause() + waited;
        return new FailureAnalysis(description, explanation.fix(), connectionFailure);
    }

    /**
     * The innermost failure in the chain with a SQLSTATE: the driver's own, which the pool (HikariCP
     * copies its SQLSTATE to its "Connection is not available"), Spring or Hibernate wrap.
     */
    private static @Nullable SQLException connectionFailure(Throwable failure) {
        SQLException innermost = null;
        for (Throwable current = failure; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (current instanceof SQLException sql && StringUtils.hasText(sql.getSQLState())) {
                innermost = sql;
            }
        }
        return innermost;
    }

    private static @Nullable Explanation explain(SQLException failure) {
        String state = failure.getSQLState();
        String message = serverMessage(failure);
        Throwable socketFailure = socketFailure(failure);
        if ("28P01".equals(state)) {
            return new Explanation("the password was rejected (SQLSTATE 28P01: " + message + ").",
                    "Check spring.datasource.username and spring.datasource.password (or the secret or environment "
                            + "variable SPRING_DATASOURCE_PASSWORD they come from).");
        }
        if ("3D000".equals(state)) {
            return new Explanation("the database does not exist (SQLSTATE 3D000: " + message + ").",
                    "Check the database name at the end of " + URL_PROPERTY + " (jdbc:postgresql://host:port/database), "
                            + "or create the database.");
        }
        if ("28000".equals(state) && message.toLowerCase(Locale.ROOT).contains("not permitted to log in")) {
            return new Explanation("the role may not log in (SQLSTATE 28000: " + message + ").",
                    "Check spring.datasource.username, or give the role the LOGIN attribute (ALTER ROLE ... LOGIN).");
        }
        if (state.startsWith("28")) {
            return new Explanation("the server's host-based authentication (pg_hba.conf) does not let this user, "
                    + "database and client address in (SQLSTATE " + state + ": " + message + ").",
                    "Check spring.datasource.username and the database name in " + URL_PROPERTY + "; if they are right, "
                            + "the database administrator must add a pg_hba.conf entry for them and the application's "
                            + "address (if that entry is a hostssl one, add sslmode=require to " + URL_PROPERTY + ").");
        }
        if (SqlStates.isPgBouncerLoginBackOff(failure)) {
            return new Explanation("PgBouncer is refusing logins until its next server login attempt "
                    + "(server_login_retry): its last login to PostgreSQL failed (SQLSTATE 08P01: " + message + "). "
                    + "PostgreSQL may be down, or back already and not yet tried again by PgBouncer.",
                    "Check that PostgreSQL runs and that PgBouncer can log in to it (PgBouncer's log says why its "
                            + "login failed). Lower server_login_retry in pgbouncer.ini (default 15 s; for example 1-5 s), "
                            + "so that PgBouncer finds a restarted PostgreSQL soon, and set "
                            + "resilient.db.startup.wait-for-database above it (for example 60s), so that start-up "
                            + "waits for it.");
        }
        if ("08P01".equals(state) && SqlStates.isLoginRejected(failure)) {
            return new Explanation("PgBouncer refused the login (SQLSTATE 08P01: " + message + ").",
                    "Check spring.datasource.username and spring.datasource.password, that PgBouncer knows the user "
                            + "(its auth_file or auth_query), and that the database at the end of " + URL_PROPERTY
                            + " is listed in PgBouncer's [databases].");
        }
        if (message.contains("does not support SSL")) {
            return new Explanation("the connection requires SSL (sslmode in " + URL_PROPERTY + " or the data-source "
                    + "properties), but the server does not offer it (SQLSTATE " + state + ": " + message + ").",
                    "Turn SSL on in the server (ssl = on in postgresql.conf), or, only on a network you trust, "
                            + "change sslmode in " + URL_PROPERTY + " to prefer or disable.");
        }
        if (socketFailure instanceof UnknownHostException) {
            return new Explanation("the host name " + socketFailure.getMessage() + " cannot be resolved (unknown host).",
                    "Check the host name in " + URL_PROPERTY + " (jdbc:postgresql://host:port/database) and the "
                            + "DNS the application uses.");
        }
        if (socketFailure instanceof ConnectException && !(socketFailure instanceof NoRouteToHostException)) {
            return new Explanation("the connection was refused: nothing listens on that host and port (SQLSTATE "
                    + state + ").",
                    "Check the host and port in " + URL_PROPERTY + " and that PostgreSQL runs there and accepts TCP "
                            + "connections (listen_addresses). If the database starts after the application, set "
                            + "resilient.db.startup.wait-for-database (for example 60s) to wait for it.");
        }
        if (socketFailure instanceof NoRouteToHostException || socketFailure instanceof SocketTimeoutException) {
            return new Explanation("the host did not answer (unreachable, or a firewall drops the connection: "
                    + socketFailure.getClass().getSimpleName() + ").",
                    "Check the host and port in " + URL_PROPERTY + " and that the network lets the application reach "
                            + "them; resilient.db.driver.connect-timeout bounds how long each attempt waits.");
        }
        return null;
    }

    /** The network failure under the driver's exception, if the connection failed below PostgreSQL's protocol. */
    private static @Nullable Throwable socketFailure(Throwable failure) {
        for (Throwable current = failure; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (current instanceof UnknownHostException || current instanceof ConnectException
                    || current instanceof SocketTimeoutException) {
                return current;
            }
        }
        return null;
    }

    /** The server's words without the driver's "FATAL: " prefix and without the detail lines. */
    private static String serverMessage(SQLException failure) {
        String message = String.valueOf(failure.getMessage()).lines().findFirst().orElse("").trim();
        return message.replaceFirst("^(FATAL|ERROR):\\s*", "");
    }

    private String waited(Throwable failure) {
        for (Throwable current = failure; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (current.getMessage() != null && current.getMessage().contains("did not accept a connection within")) {
                return " Start-up waited " + this.environment.getProperty("resilient.db.startup.wait-for-database")
                        + " for it (resilient.db.startup.wait-for-database).";
            }
        }
        return "";
    }

    private @Nullable String url() {
        String url = this.environment.getProperty(URL_PROPERTY);
        if (!StringUtils.hasText(url)) {
            url = this.environment.getProperty("spring.datasource.hikari.jdbc-url");
        }
        return StringUtils.hasText(url) ? withoutCredentials(url) : null;
    }

    /** The URL without user information ({@code //user:secret@host}) and without user or password parameters. */
    static String withoutCredentials(String url) {
        String withoutUserInfo = USER_INFO.matcher(url).replaceFirst("//");
        int query = withoutUserInfo.indexOf('?');
        if (query < 0) {
            return withoutUserInfo;
        }
        StringBuilder kept = new StringBuilder();
        for (String parameter : withoutUserInfo.substring(query + 1).split("&")) {
            String key = parameter.split("=", 2)[0].toLowerCase(Locale.ROOT);
            if (!key.isEmpty() && !key.equals("user") && !key.contains("password")) {
                kept.append(kept.isEmpty() ? "?" : "&").append(parameter);
            }
        }
        return withoutUserInfo.substring(0, query) + kept;
    }

    /** Before the other analyzers: the wrapping exceptions (bean creation, pool, JPA) say less. */
    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE + 10;
    }

    private record Explanation(String cause, String fix) {
    }

}
