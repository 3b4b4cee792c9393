package dev.resilientdb.autoconfigure;

import java.util.Map;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Sets HikariCP's {@code com.zaxxer.hikari.pool.ProxyConnection} logger to ERROR. It logs only
 * "connection marked as broken" lines, at WARN with a stack trace, one per connection a fault breaks;
 * the pool replaces the connection, the retries ride the fault out, and resilient-db sums the episode
 * up in one line. The default sits last among the property sources, so a {@code logging.level} the
 * application sets for that logger wins. Nothing is added when resilient-db is turned off.
 */
class LoggingDefaultsEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    static final String SOURCE_NAME = "resilientDbLoggingDefaults";

    static final String BROKEN_CONNECTION_LOGGER = "logging.level.com.zaxxer.hikari.pool.ProxyConnection";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (environment.getProperty(ResilientDbProperties.PREFIX + ".enabled", Boolean.class, true)) {
            environment.getPropertySources().addLast(new MapPropertySource(SOURCE_NAME, Map.of(BROKEN_CONNECTION_LOGGER, "error")));
        }
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }

}
