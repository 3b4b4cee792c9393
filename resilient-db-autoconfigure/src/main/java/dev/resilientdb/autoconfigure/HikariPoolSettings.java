package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Consumer;

import com.zaxxer.hikari.HikariConfig;
import dev.resilientdb.autoconfigure.ResilientDbProperties.Pooler;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Applies {@code resilient.db.pool.*} and {@code resilient.db.driver.*} to a HikariCP configuration.
 * <p>
 * Precedence, per setting: a value the user sets wins over a default; where the user sets both
 * {@code resilient.db.pool.*} and the matching {@code spring.datasource.hikari.*} key (or
 * {@code data-source-properties} entry), {@code resilient.db} wins and a warning names both; where the
 * user sets neither, the starter's default applies. Parameters in the JDBC URL itself are read by the
 * driver last and win over all of these, except {@code options}: it is taken out of the URL and
 * merged with the starter's {@code statement_timeout} (a {@code statement_timeout} it sets wins).
 */
final class HikariPoolSettings {

    private static final Log logger = LogFactory.getLog(HikariPoolSettings.class);

    private static final String POOL_PREFIX = ResilientDbProperties.PREFIX + ".pool.";

    private static final String DRIVER_PREFIX = ResilientDbProperties.PREFIX + ".driver.";

    private static final String HIKARI_PREFIX = "spring.datasource.hikari.";

    private static final String DEFAULT_APPLICATION_NAME = "resilient-db";

    private final ResilientDbProperties properties;

    private final Binder binder;

    private final Environment environment;

    HikariPoolSettings(ResilientDbProperties properties, Environment environment) {
        this.properties = properties;
        this.environment = environment;
        this.binder = Binder.get(environment);
    }

    /** Applies the settings; returns a one-line summary of the effective ones, for the start-up log. */
    String applyTo(HikariConfig config) {
        ResilientDbProperties.Pool pool = this.properties.getPool();
        poolSetting(config, "max-size", "maximum-pool-size", pool.getMaxSize(), config.getMaximumPoolSize(), config::setMaximumPoolSize);
        poolSetting(config, "min-idle", "minimum-idle", pool.effectiveMinIdle(), config.getMinimumIdle(), config::setMinimumIdle);
        poolSetting(config, "connection-timeout", "connection-timeout", millis(pool.getConnectionTimeout()), config.getConnectionTimeout(), config::setConnectionTimeout);
        poolSetting(config, "idle-timeout", "idle-timeout", millis(pool.getIdleTimeout()), config.getIdleTimeout(), config::setIdleTimeout);
        poolSetting(config, "max-lifetime", "max-lifetime", millis(pool.getMaxLifetime()), config.getMaxLifetime(), config::setMaxLifetime);
        poolSetting(config, "keepalive-time", "keepalive-time", millis(pool.getKeepaliveTime()), config.getKeepaliveTime(), config::setKeepaliveTime);
        poolSetting(config, "validation-timeout", "validation-timeout", millis(pool.getValidationTimeout()), config.getValidationTimeout(), config::setValidationTimeout);
        poolSetting(config, "leak-detection-threshold", "leak-detection-threshold", millis(pool.getLeakDetectionThreshold()), config.getLeakDetectionThreshold(), config::setLeakDetectionThreshold);
        poolSetting(config, "initialization-fail-timeout", "initialization-fail-timeout", millis(pool.getInitializationFailTimeout()), config.getInitializationFailTimeout(), config::setInitializationFailTimeout);
        if (StringUtils.hasText(pool.getName())) {
            poolSetting(config, "name", "pool-name", pool.getName(), config.getPoolName(), config::setPoolName);
        }
        applyDriverSettings(config);
        return summary(config, this.properties.getDriver());
    }

    private void applyDriverSettings(HikariConfig config) {
        ResilientDbProperties.Driver driver = this.properties.getDriver();
        driverSetting(config, "connect-timeout", "connectTimeout", Long.toString(wholeSeconds(driver.getConnectTimeout())));
        driverSetting(config, "socket-timeout", "socketTimeout", Long.toString(wholeSeconds(driver.getSocketTimeout())));
        driverSetting(config, "tcp-keep-alive", "tcpKeepAlive", Boolean.toString(driver.isTcpKeepAlive()));
        driverSetting(config, "application-name", "ApplicationName", applicationName(driver));
        switch (driver.getPooler()) {
            case NONE -> statementTimeoutAsStartupParameter(config, driver);
            case PGBOUNCER_SESSION -> {
                rejectOptions(config, Pooler.PGBOUNCER_SESSION);
                statementTimeoutPerConnection(config, driver);
            }
            case PGBOUNCER_TRANSACTION -> {
                rejectOptions(config, Pooler.PGBOUNCER_TRANSACTION);
                rejectConnectionInitSql(config);
                serverSidePreparedStatementsOff(config);
            }
        }
    }

    private void statementTimeoutAsStartupParameter(HikariConfig config, ResilientDbProperties.Driver driver) {
        moveUrlOptionsToProperties(config);
        String statementTimeout = "statement_timeout=" + driver.getStatementTimeout().toMillis();
        String options = config.getDataSourceProperties().getProperty("options");
        if (!StringUtils.hasText(options)) {
            config.addDataSourceProperty("options", "-c " + statementTimeout);
        }
        else if (!options.contains("statement_timeout")) {
            config.addDataSourceProperty("options", options + " -c " + statementTimeout);
        }
        else if (isSet(DRIVER_PREFIX + "statement-timeout")) {
            logger.warn("resilient-db: resilient.db.driver.statement-timeout is ignored because "
                    + "the pool's options (spring.datasource.hikari.data-source-properties.options or the JDBC URL) "
                    + "already set statement_timeout");
        }
    }

    /**
     * In session mode a client connection keeps its server connection until it closes (PgBouncer then
     * runs {@code DISCARD ALL}), so a {@code SET} when the pool opens the connection holds for all its
     * statements, in transactions and in autocommit alike.
     */
    private void statementTimeoutPerConnection(HikariConfig config, ResilientDbProperties.Driver driver) {
        if (driver.getStatementTimeout().isZero()) {
            return;
        }
        String set = "SET statement_timeout = " + driver.getStatementTimeout().toMillis();
        String initSql = config.getConnectionInitSql();
        if (!StringUtils.hasText(initSql)) {
            config.setConnectionInitSql(set);
        }
        else if (!initSql.contains("statement_timeout")) {
            config.setConnectionInitSql(set + "; " + initSql);
        }
        else if (isSet(DRIVER_PREFIX + "statement-timeout")) {
            logger.warn("resilient-db: resilient.db.driver.statement-timeout is ignored because "
                    + "spring.datasource.hikari.connection-init-sql already sets statement_timeout");
        }
    }

    /**
     * In transaction mode consecutive transactions of one client connection may run on different
     * server connections, so a statement the driver prepared on one is unknown on the next. With
     * {@code prepareThreshold=0} pgjdbc uses only unnamed statements, which live within one request.
     * A threshold the user sets is kept, with a warning: PgBouncer 1.21 and later can carry prepared
     * statements across server connections ({@code max_prepared_statements}).
     */
    private void serverSidePreparedStatementsOff(HikariConfig config) {
        String fromUrl = JdbcUrlOptions.parameter(config.getJdbcUrl(), "prepareThreshold");
        String fromProperties = config.getDataSourceProperties().getProperty("prepareThreshold");
        for (String[] source : new String[][] { { fromUrl, "spring.datasource.url" },
                { fromProperties, HIKARI_PREFIX + "data-source-properties.prepareThreshold" } }) {
            if (source[0] != null && !"0".equals(source[0].trim())) {
                logger.warn("resilient-db: pool '" + config.getPoolName() + "' keeps prepareThreshold=" + source[0]
                        + " from " + source[1] + " although resilient.db.driver.pooler is "
                        + Pooler.PGBOUNCER_TRANSACTION.propertyValue() + ": this works only with PgBouncer 1.21 or "
                        + "later and max_prepared_statements above 0; otherwise statements fail with 'prepared "
                        + "statement \"S_1\" does not exist'. Remove it to let resilient-db set prepareThreshold=0");
                return;
            }
        }
        config.addDataSourceProperty("prepareThreshold", "0");
    }

    private void rejectOptions(HikariConfig config, Pooler pooler) {
        String fromUrl = JdbcUrlOptions.parameter(config.getJdbcUrl(), "options");
        String fromProperties = config.getDataSourceProperties().getProperty("options");
        for (String[] source : new String[][] { { fromUrl, "spring.datasource.url" },
                { fromProperties, HIKARI_PREFIX + "data-source-properties.options" } }) {
            if (source[0] != null) {
                throw new IncompatibleWithPoolerException("resilient.db.driver.pooler is " + pooler.propertyValue()
                        + ", but " + source[1] + " of pool '" + config.getPoolName() + "' sets the startup parameter "
                        + "options ('" + source[0] + "'). PgBouncer refuses it (before 1.20 any options, from 1.20 "
                        + "every setting but a few), or drops it without a word when options is in its "
                        + "ignore_startup_parameters.",
                        "Remove options from " + source[1] + ". Set the statement timeout with "
                                + "resilient.db.driver.statement-timeout, and other server settings per role or "
                                + "database (ALTER ROLE ... SET ...), which PgBouncer's server connections pick up.");
            }
        }
    }

    /**
     * The pool runs {@code connection-init-sql} once, on whichever server connection PgBouncer lends it
     * then; later transactions of the same pooled connection run on others without it, and another
     * client inherits what it set ({@code SET search_path} sends writes to the wrong schema).
     */
    private static void rejectConnectionInitSql(HikariConfig config) {
        if (StringUtils.hasText(config.getConnectionInitSql())) {
            throw new IncompatibleWithPoolerException("resilient.db.driver.pooler is "
                    + Pooler.PGBOUNCER_TRANSACTION.propertyValue() + ", but pool '" + config.getPoolName()
                    + "' has a connection-init-sql (" + HIKARI_PREFIX + "connection-init-sql). Behind transaction "
                    + "pooling it runs once on one server connection: the pool's later transactions run without it, "
                    + "and other clients of that server connection inherit it.",
                    "Remove " + HIKARI_PREFIX + "connection-init-sql. Set server parameters per role or database "
                            + "(ALTER ROLE ... SET search_path = ...), which every server connection picks up, and the "
                            + "statement timeout with resilient.db.driver.statement-timeout; or use "
                            + "resilient.db.driver.pooler=pgbouncer-session with PgBouncer in session mode.");
        }
    }

    /**
     * pgjdbc lets {@code options} in the URL replace the {@code options} property as a whole, which
     * would drop the statement timeout; the URL's value moves to the property, where it is merged.
     */
    private static void moveUrlOptionsToProperties(HikariConfig config) {
        if (config.getJdbcUrl() == null) {
            return;
        }
        JdbcUrlOptions url = JdbcUrlOptions.of(config.getJdbcUrl());
        if (url.options() == null) {
            return;
        }
        String replaced = config.getDataSourceProperties().getProperty("options");
        if (replaced != null && !replaced.equals(url.options())) {
            logger.warn("resilient-db: options in the JDBC URL of pool '" + config.getPoolName() + "' replace "
                    + HIKARI_PREFIX + "data-source-properties.options ('" + replaced + "'), as pgjdbc reads them");
        }
        config.setJdbcUrl(url.url());
        config.addDataSourceProperty("options", url.options());
    }

    private String applicationName(ResilientDbProperties.Driver driver) {
        if (StringUtils.hasText(driver.getApplicationName())) {
            return driver.getApplicationName();
        }
        return this.environment.getProperty("spring.application.name", DEFAULT_APPLICATION_NAME);
    }

    private <T> void poolSetting(HikariConfig config, String resilientKey, String hikariKey, T value, T hikariValue,
            Consumer<T> setter) {
        boolean ours = isSet(POOL_PREFIX + resilientKey);
        boolean theirs = isSet(HIKARI_PREFIX + hikariKey);
        if (theirs && !ours) {
            return;
        }
        if (theirs && !value.equals(hikariValue)) {
            logger.warn("resilient-db: " + POOL_PREFIX + resilientKey + " (" + value + ") overrides " + HIKARI_PREFIX
                    + hikariKey + " (" + hikariValue + ") for pool '" + config.getPoolName() + "'");
        }
        setter.accept(value);
    }

    private void driverSetting(HikariConfig config, String resilientKey, String driverProperty, String value) {
        String existing = config.getDataSourceProperties().getProperty(driverProperty);
        boolean ours = isSet(DRIVER_PREFIX + resilientKey);
        if (existing != null && !ours) {
            return;
        }
        if (existing != null && !existing.equals(value)) {
            logger.warn("resilient-db: " + DRIVER_PREFIX + resilientKey + " (" + value + ") overrides "
                    + HIKARI_PREFIX + "data-source-properties." + driverProperty + " (" + existing + ")");
        }
        config.addDataSourceProperty(driverProperty, value);
    }

    private boolean isSet(String name) {
        return this.binder.bind(name, String.class).isBound();
    }

    private static String summary(HikariConfig config, ResilientDbProperties.Driver settings) {
        Properties driver = config.getDataSourceProperties();
        List<String> parts = new ArrayList<>();
        parts.add("max-size=" + config.getMaximumPoolSize());
        parts.add("min-idle=" + config.getMinimumIdle());
        parts.add("connection-timeout=" + config.getConnectionTimeout() + "ms");
        parts.add("idle-timeout=" + config.getIdleTimeout() + "ms");
        parts.add("max-lifetime=" + config.getMaxLifetime() + "ms");
        parts.add("keepalive-time=" + config.getKeepaliveTime() + "ms");
        parts.add("validation-timeout=" + config.getValidationTimeout() + "ms");
        parts.add("leak-detection-threshold=" + config.getLeakDetectionThreshold() + "ms");
        parts.add("connect-timeout=" + driver.getProperty("connectTimeout") + "s");
        parts.add("socket-timeout=" + driver.getProperty("socketTimeout") + "s");
        parts.add("tcp-keep-alive=" + driver.getProperty("tcpKeepAlive"));
        parts.add("pooler=" + settings.getPooler().propertyValue());
        long statementTimeout = settings.getStatementTimeout().toMillis();
        switch (settings.getPooler()) {
            case NONE -> parts.add("options='" + driver.getProperty("options") + "'");
            case PGBOUNCER_SESSION -> parts.add((statementTimeout == 0) ? "statement-timeout=not sent"
                    : "statement-timeout=" + statementTimeout + "ms per connection (connection-init-sql '"
                            + config.getConnectionInitSql() + "')");
            case PGBOUNCER_TRANSACTION -> parts.add(((statementTimeout == 0) ? "statement-timeout=not sent"
                    : "statement-timeout=" + statementTimeout + "ms per Spring-managed transaction (SET LOCAL)")
                    + ", isolation-level=per transaction, prepare-threshold=" + driver.getProperty("prepareThreshold"));
        }
        parts.add("application-name=" + driver.getProperty("ApplicationName"));
        return String.join(", ", parts);
    }

    private static long millis(Duration duration) {
        return duration.toMillis();
    }

    /** pgjdbc takes these timeouts in whole seconds; a fraction rounds up so that a timeout never shrinks to 0 (off). */
    private static long wholeSeconds(Duration duration) {
        long seconds = duration.toSeconds();
        return (duration.toNanosPart() > 0) ? seconds + 1 : seconds;
    }

}
