package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Consumer;

import com.zaxxer.hikari.HikariConfig;
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
        return summary(config);
    }

    private void applyDriverSettings(HikariConfig config) {
        ResilientDbProperties.Driver driver = this.properties.getDriver();
        Properties current = config.getDataSourceProperties();
        driverSetting(config, "connect-timeout", "connectTimeout", Long.toString(wholeSeconds(driver.getConnectTimeout())));
        driverSetting(config, "socket-timeout", "socketTimeout", Long.toString(wholeSeconds(driver.getSocketTimeout())));
        driverSetting(config, "tcp-keep-alive", "tcpKeepAlive", Boolean.toString(driver.isTcpKeepAlive()));
        driverSetting(config, "application-name", "ApplicationName", applicationName(driver));
        moveUrlOptionsToProperties(config);
        String statementTimeout = "statement_timeout=" + driver.getStatementTimeout().toMillis();
        String options = current.getProperty("options");
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

    private static String summary(HikariConfig config) {
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
        parts.add("options='" + driver.getProperty("options") + "'");
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
