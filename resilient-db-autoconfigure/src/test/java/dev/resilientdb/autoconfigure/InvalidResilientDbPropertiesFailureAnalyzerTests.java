package dev.resilientdb.autoconfigure;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * Every rejected {@code resilient.db.*} value fails start-up with a message that names the property
 * and the fix.
 */
@ExtendWith(OutputCaptureExtension.class)
class InvalidResilientDbPropertiesFailureAnalyzerTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app");

    private final InvalidResilientDbPropertiesFailureAnalyzer analyzer = new InvalidResilientDbPropertiesFailureAnalyzer();

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            resilient.db.pool.max-size                 | 0      | must be at least 1                          | for example 10
            resilient.db.pool.max-size                 | -3     | must be at least 1                          | for example 10
            resilient.db.pool.min-idle                 | -1     | must not be negative                        | between 0 and resilient.db.pool.max-size
            resilient.db.pool.min-idle                 | 11     | must not exceed resilient.db.pool.max-size  | Lower it to at most 10
            resilient.db.pool.connection-timeout       | 100ms  | must be at least 250ms                      | Set it to 250ms or more
            resilient.db.pool.validation-timeout       | 10ms   | must be at least 250ms                      | Set it to 250ms or more
            resilient.db.pool.validation-timeout       | 2s     | must be shorter than resilient.db.pool.connection-timeout | Lower it below
            resilient.db.pool.idle-timeout             | 5s     | must be 0 (off) or at least 10s             | Set it to 0
            resilient.db.pool.max-lifetime             | 10s    | must be 0 (off) or at least 30s             | Set it to 0
            resilient.db.pool.keepalive-time           | 5s     | must be 0 (off) or at least 30s             | Set it to 0
            resilient.db.pool.keepalive-time           | 40m    | must be shorter than resilient.db.pool.max-lifetime | Lower it below
            resilient.db.pool.leak-detection-threshold | 1s     | must be 0 (off) or at least 2s              | Set it to 0
            resilient.db.pool.connection-timeout       | -1s    | must be at least 250ms                      | Set it to 250ms or more
            resilient.db.driver.connect-timeout        | -5s    | must be 0 (off) or at least 1s              | Set it to 0
            resilient.db.driver.socket-timeout         | 10s    | must be longer than resilient.db.driver.statement-timeout | Raise it above
            resilient.db.driver.statement-timeout      | -1s    | must be 0 (off) or at least 1ms             | Set it to 0
            resilient.db.driver.statement-timeout      | 25d    | must be at most 2147483647ms                | or to at most 2147483647ms (for example 22500ms)
            resilient.db.driver.socket-timeout         | 25d    | must be at most 2147483s                    | or to at most 2147483s (for example 45s)
            resilient.db.driver.connect-timeout        | 25d    | must be at most 2147483s                    | or to at most 2147483s (for example 5s)
            resilient.db.retry.max-attempts            | 0      | must be at least 1                          | Set it to 1 for no retries
            resilient.db.retry.initial-interval        | 0ms    | must be longer than 0                       | for example 100ms
            resilient.db.retry.max-interval            | 50ms   | must not be shorter than resilient.db.retry.initial-interval | Raise it
            resilient.db.retry.contention-max-interval | 0ms    | must be longer than 0                       | for example 400ms
            resilient.db.retry.multiplier              | 0.5    | must be at least 1.0                        | Set it to 1.0 for a fixed back-off
            resilient.db.retry.jitter                  | 1.5    | must be between 0.0 and 1.0                 | Set it to a fraction
            resilient.db.retry.deadline                | 0s     | must be longer than 0                       | for example 10s
            resilient.db.retry.retryable-sql-states    | 4000   | neither a SQLSTATE nor a SQLSTATE class     | five-character SQLSTATEs
            resilient.db.health.timeout                | 50ms   | must be at least 100ms                      | Set it to 100ms or more
            resilient.db.health.timeout                | 1m     | must not exceed 30s                         | Keep it below your probes' timeout
            resilient.db.pool.saturation-warn-threshold | 0     | must be above 0 and at most 1               | for example 0.8
            resilient.db.pool.saturation-warn-threshold | 1.2   | must be above 0 and at most 1               | for example 0.8
            resilient.db.pool.saturation-warn-interval | 0s     | must be longer than 0                       | for example 1m
            resilient.db.startup.wait-for-database     | -10s   | must not be negative                        | Set it to 0 to start without waiting
            resilient.db.circuit-breaker.failure-rate-threshold | 150 | must be above 0 and at most 100 (percent) | such as 90
            resilient.db.circuit-breaker.sliding-window | 1500ms | must be whole seconds                       | in whole seconds, for example 2s
            resilient.db.circuit-breaker.minimum-calls | 0      | must be at least 1                          | for example, 20
            resilient.db.circuit-breaker.trial-calls   | 0      | must be at least 1                          | for example, 3
            resilient.db.circuit-breaker.open-after    | 0s     | must be longer than 0                       | for example 10s
            resilient.db.circuit-breaker.probe-interval | 1ms   | must be at least 10ms                       | for example 50ms
            resilient.db.retry.budget.ratio            | -0.1   | must not be negative                        | for example 0.5
            """)
    void invalidValueFailsWithPropertyProblemAndFix(String property, String value, String problem, String fix) {
        this.contextRunner.withPropertyValues(property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis = this.analyzer.analyze(context.getStartupFailure());
            assertThat(analysis).isNotNull();
            assertThat(analysis.getDescription()).contains(property + " = " + value + " (from ").contains(problem);
            assertThat(analysis.getAction()).contains(property).contains(fix);
        });
    }

    /**
     * Issue 14: the analysis never suggests a value that is itself invalid given the other settings
     * ("min-idle: Lower it to at most -5"); the values it suggests, applied together, let the
     * application start.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            // One invalid setting beside the defaults: every rejection the validation makes.
            "pool.max-size=0", "pool.min-idle=-1", "pool.min-idle=11", "pool.connection-timeout=100ms",
            "pool.connection-timeout=250ms", "pool.validation-timeout=10ms", "pool.validation-timeout=2s",
            "pool.idle-timeout=5s", "pool.max-lifetime=10s", "pool.max-lifetime=30s", "pool.keepalive-time=5s",
            "pool.keepalive-time=40m", "pool.leak-detection-threshold=1s",
            "pool.saturation-warn-threshold=1.2", "pool.saturation-warn-interval=0s",
            "driver.connect-timeout=-5s", "driver.socket-timeout=10s", "driver.socket-timeout=500ms",
            "driver.statement-timeout=-1s", "driver.statement-timeout=0", "driver.statement-timeout=25d",
            "driver.socket-timeout=25d", "driver.connect-timeout=25d", "retry.max-attempts=0",
            "retry.optimistic-lock-max-attempts=0", "retry.initial-interval=0ms", "retry.max-interval=50ms",
            "retry.max-interval=0ms", "retry.contention-max-interval=0ms", "retry.multiplier=0.5", "retry.jitter=1.5",
            "retry.deadline=0s", "retry.retryable-sql-states=4000", "retry.non-retryable-sql-states=23505,4000",
            "health.timeout=50ms", "health.timeout=1m", "startup.wait-for-database=-10s",
            "circuit-breaker.failure-rate-threshold=150", "circuit-breaker.sliding-window=1500ms",
            "circuit-breaker.sliding-window=500ms", "circuit-breaker.minimum-calls=0",
            "circuit-breaker.wait-in-open-state=0s", "circuit-breaker.trial-calls=0", "circuit-breaker.open-after=0s",
            "circuit-breaker.open-after=-1s", "circuit-breaker.probe-interval=1ms", "retry.budget.ratio=-0.1",
            "retry.budget.min-retries-per-second=-1",
            // Two settings in conflict, where a suggestion must account for the other one.
            "pool.max-size=-5 pool.min-idle=3", "pool.max-size=0 pool.min-idle=30", "pool.max-size=2 pool.min-idle=-1",
            "pool.connection-timeout=300ms pool.validation-timeout=2s",
            "pool.connection-timeout=100ms pool.validation-timeout=10ms",
            "pool.connection-timeout=100ms pool.validation-timeout=5s", "pool.connection-timeout=250ms pool.validation-timeout=1ms",
            "pool.max-lifetime=30s pool.keepalive-time=5s", "pool.max-lifetime=10s pool.keepalive-time=40m",
            "pool.max-lifetime=35s pool.keepalive-time=40s", "driver.socket-timeout=500ms driver.statement-timeout=0",
            "driver.socket-timeout=2s driver.statement-timeout=-1s", "driver.socket-timeout=-1s driver.statement-timeout=-1s",
            "driver.socket-timeout=0 driver.statement-timeout=-1s",
            "driver.socket-timeout=0 driver.statement-timeout=25d driver.pooler=pgbouncer-transaction",
            "driver.statement-timeout=2147483647ms driver.socket-timeout=25d", "retry.initial-interval=0ms retry.max-interval=50ms",
            "retry.initial-interval=5s retry.max-interval=0ms", "retry.initial-interval=3s retry.max-interval=1s" })
    void suggestedValuesLetTheApplicationStart(String settings) {
        String[] invalid = Arrays.stream(settings.split(" ")).map(setting -> "resilient.db." + setting).toArray(String[]::new);
        this.contextRunner.withPropertyValues(invalid).run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
            assertThat(analysis).isNotNull();
            String[] suggested = suggestedValues(analysis.getAction());
            assertThat(suggested).as("suggested values in:%n%s", analysis.getAction()).isNotEmpty();
            this.contextRunner.withPropertyValues(invalid).withPropertyValues(suggested).run(fixed -> assertThat(fixed)
                .as("with %s (suggested after %s)", Arrays.toString(suggested), settings)
                .hasNotFailed());
        });
    }

    /** The {@code property=value} lines the analysis offers as a valid set of values. */
    private static String[] suggestedValues(String action) {
        int header = action.indexOf("For example, with these values the configuration is valid:");
        if (header < 0) {
            return new String[0];
        }
        return action.substring(header).lines().skip(1).map(String::trim).filter(line -> line.contains("="))
            .toArray(String[]::new);
    }

    @Test
    void socketTimeoutWithStatementTimeoutOffIsRejected() {
        this.contextRunner.withPropertyValues("resilient.db.driver.statement-timeout=0").run(context -> {
            FailureAnalysis analysis = this.analyzer.analyze(context.getStartupFailure());
            assertThat(analysis.getDescription()).contains("resilient.db.driver.socket-timeout = 45s (default)")
                .contains("must be longer than resilient.db.driver.statement-timeout (0 (off))");
        });
    }

    @Test
    void everyInvalidPropertyIsReportedAtOnce() {
        this.contextRunner.withPropertyValues("resilient.db.pool.max-size=0", "resilient.db.pool.connection-timeout=1ms")
            .run(context -> {
                FailureAnalysis analysis = this.analyzer.analyze(context.getStartupFailure());
                assertThat(analysis.getDescription()).contains("resilient.db.pool.max-size = 0",
                        "resilient.db.pool.connection-timeout = 1ms");
            });
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            resilient.db.pool.connection-timeout | two seconds | a duration    | such as 500ms, 2s or 1m
            resilient.db.pool.max-size           | ten         | a whole number | a whole number
            resilient.db.driver.tcp-keep-alive   | maybe       | true or false | true or false
            resilient.db.retry.resolve-commit-outcome | perhaps | true or false | true or false
            """)
    void unreadableValueFailsWithTheExpectedFormat(String property, String value, String expected, String fix) {
        this.contextRunner.withPropertyValues(property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis = this.analyzer.analyze(context.getStartupFailure());
            assertThat(analysis.getDescription()).contains(property + " = '" + value + "'")
                .contains("cannot be read as " + expected);
            assertThat(analysis.getAction()).contains("Change " + property).contains(fix);
        });
    }

    @Test
    void otherPropertiesAreLeftToSpringBootsAnalyzers() {
        new ApplicationContextRunner().withUserConfiguration(OtherPropertiesConfiguration.class)
            .withPropertyValues("other.size=ten")
            .run(context -> {
                assertThat(context).hasFailed();
                assertThat(this.analyzer.analyze(context.getStartupFailure())).isNull();
            });
    }

    @Test
    void applicationStartupReportShowsTheAnalysis(CapturedOutput output) {
        SpringApplicationBuilder application = new SpringApplicationBuilder(StarterApplication.class)
            .web(WebApplicationType.NONE)
            .properties("spring.datasource.url=jdbc:postgresql://localhost:5432/app", "resilient.db.pool.max-size=0");
        assertThatException().isThrownBy(application::run);
        assertThat(output).contains("APPLICATION FAILED TO START", "resilient.db.pool.max-size = 0", "must be at least 1",
                "Set it to the number of connections the application needs at once");
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration({ DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class })
    static class StarterApplication {

    }

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(OtherProperties.class)
    static class OtherPropertiesConfiguration {

    }

    @ConfigurationProperties("other")
    static class OtherProperties {

        private int size;

        public int getSize() {
            return this.size;
        }

        public void setSize(int size) {
            this.size = size;
        }

    }

}
