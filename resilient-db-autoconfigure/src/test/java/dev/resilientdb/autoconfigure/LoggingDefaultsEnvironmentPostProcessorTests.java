package dev.resilientdb.autoconfigure;

import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringApplication;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

import static org.assertj.core.api.Assertions.assertThat;

class LoggingDefaultsEnvironmentPostProcessorTests {

    private final LoggingDefaultsEnvironmentPostProcessor postProcessor = new LoggingDefaultsEnvironmentPostProcessor();

    @Test
    void quietsHikarisBrokenConnectionLinesByDefault() {
        StandardEnvironment environment = new StandardEnvironment();
        this.postProcessor.postProcessEnvironment(environment, new SpringApplication());
        assertThat(environment.getProperty(LoggingDefaultsEnvironmentPostProcessor.BROKEN_CONNECTION_LOGGER))
            .isEqualTo("error");
    }

    @Test
    void theApplicationsLevelWins() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources()
            .addFirst(new MapPropertySource("application",
                    Map.of(LoggingDefaultsEnvironmentPostProcessor.BROKEN_CONNECTION_LOGGER, "warn")));
        this.postProcessor.postProcessEnvironment(environment, new SpringApplication());
        assertThat(environment.getProperty(LoggingDefaultsEnvironmentPostProcessor.BROKEN_CONNECTION_LOGGER))
            .isEqualTo("warn");
    }

    @Test
    void addsNothingWhenResilientDbIsOff() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources()
            .addFirst(new MapPropertySource("application", Map.of("resilient.db.enabled", "false")));
        this.postProcessor.postProcessEnvironment(environment, new SpringApplication());
        assertThat(environment.getPropertySources().contains(LoggingDefaultsEnvironmentPostProcessor.SOURCE_NAME))
            .isFalse();
        assertThat(environment.getProperty(LoggingDefaultsEnvironmentPostProcessor.BROKEN_CONNECTION_LOGGER)).isNull();
    }

}
