package dev.resilientdb.autoconfigure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: a property under {@code resilient.db} that the starter does not bind (a typo) stops
 * start-up, naming the property, where it was set and the nearest valid one; or, with
 * {@code resilient.db.unknown-keys=warn}, logs the same and starts.
 */
@ExtendWith(OutputCaptureExtension.class)
class UnknownResilientDbPropertiesTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app");

    @Test
    void typoInApplicationYmlFailsNamingThePropertyItsLineAndTheNearestValidOne() {
        this.contextRunner.withInitializer(UnknownResilientDbPropertiesTests::loadYaml).run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
            assertThat(analysis).isNotNull();
            assertThat(analysis.getDescription()).contains(
                    "resilient.db.pool.max-szie (from class path resource [unknown-resilient-db-keys.yml] - 4:",
                    "did you mean resilient.db.pool.max-size?");
            assertThat(analysis.getAction()).contains("resilient.db.pool.max-szie -> resilient.db.pool.max-size",
                    "resilient.db.unknown-keys=warn");
        });
    }

    @Test
    void misspeltGroupSuggestsTheGroupOrThePropertyInIt() {
        this.contextRunner.withPropertyValues("resilient.db.retrys=5", "resilient.db.retrys.max-attempts=5",
                "resilient.db.retry.budget.ratoi=0.4").run(context -> {
                    assertThat(context).hasFailed();
                    FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
                    assertThat(line(analysis, "resilient.db.retrys")).endsWith("did you mean resilient.db.retry.*?");
                    assertThat(line(analysis, "resilient.db.retrys.max-attempts"))
                        .endsWith("did you mean resilient.db.retry.max-attempts?");
                    assertThat(line(analysis, "resilient.db.retry.budget.ratoi"))
                        .endsWith("did you mean resilient.db.retry.budget.ratio?");
                });
    }

    @Test
    void unknownPropertyBelowAListOrAValueIsReported() {
        this.contextRunner.withPropertyValues("resilient.db.retry.retryable-sql-states[0].code=55P03",
                "resilient.db.pool.max-size.value=5").run(context -> {
                    assertThat(context).hasFailed();
                    FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
                    assertThat(line(analysis, "resilient.db.retry.retryable-sql-states[0].code"))
                        .endsWith("did you mean resilient.db.retry.retryable-sql-states?");
                    assertThat(line(analysis, "resilient.db.pool.max-size.value"))
                        .endsWith("did you mean resilient.db.pool.max-size?");
                });
    }

    @Test
    void propertyFarFromEveryValidOneListsTheValidOnesOfItsGroup() {
        this.contextRunner.withPropertyValues("resilient.db.health.colour=green").run(context -> {
            FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
            assertThat(line(analysis, "resilient.db.health.colour")).endsWith("no similar property; "
                    + "valid here: resilient.db.health.enabled, resilient.db.health.timeout");
            assertThat(analysis.getAction()).contains("resilient.db.health.colour: remove it");
        });
    }

    @Test
    void misspeltEnvironmentVariableIsNamedAsSet() {
        this.contextRunner.withInitializer(context -> environmentVariables(context,
                Map.of("RESILIENT_DB_POOL_MAX_SZIE", "20", "RESILIENT_DB_CIRCUIT_BRAKER_TRIAL_CALLS", "2")))
            .run(context -> {
                assertThat(context).hasFailed();
                FailureAnalysis analysis = StartupFailureAnalysis.of(context.getStartupFailure());
                assertThat(analysis.getDescription()).contains("RESILIENT_DB_POOL_MAX_SZIE (from ",
                        "did you mean resilient.db.pool.max-size?", "RESILIENT_DB_CIRCUIT_BRAKER_TRIAL_CALLS (from ",
                        "did you mean resilient.db.circuit-breaker.trial-calls?");
            });
    }

    @Test
    void everyRelaxedFormOfAValidPropertyStarts() {
        this.contextRunner.withInitializer(context -> environmentVariables(context,
                Map.of("RESILIENT_DB_POOL_MAX_SIZE", "20", "RESILIENT_DB_POOL_MAXSIZE", "20",
                        "RESILIENT_DB_RETRY_RETRYABLE_SQL_STATES_0", "55P03", "RESILIENT_DB_CIRCUIT_BREAKER_TRIAL_CALLS", "2")))
            .withPropertyValues("resilient.db.retry.non-retryable-sql-states[0]=23505",
                    "resilient.db.retry.budget.minRetriesPerSecond=5", "resilient.db.circuitBreaker.trial-calls=2",
                    "resilient.db.driver.pooler=pgbouncer-session", "resilient.db.unknown-keys=fail", "resilient.db.enabled=true")
            .run(context -> {
                assertThat(context).hasNotFailed();
                ResilientDbProperties properties = context.getBean(ResilientDbProperties.class);
                assertThat(properties.getPool().getMaxSize()).isEqualTo(20);
                assertThat(properties.getRetry().getRetryableSqlStates()).containsExactly("55P03");
                assertThat(properties.getRetry().getBudget().getMinRetriesPerSecond()).isEqualTo(5);
            });
    }

    @Test
    void warnModeLogsOneLinePerUnknownPropertyAndStarts(CapturedOutput output) {
        this.contextRunner.withPropertyValues("resilient.db.unknown-keys=warn", "resilient.db.pool.max-szie=20",
                "resilient.db.retrys=5").run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(ResilientDbProperties.class).getPool().getMaxSize()).isEqualTo(10);
                });
        assertThat(output.getOut().lines().filter(line -> line.contains("WARN") && line.contains("unknown property")))
            .hasSize(2)
            .anySatisfy(line -> assertThat(line).contains("resilient.db.pool.max-szie",
                    "did you mean resilient.db.pool.max-size?"))
            .anySatisfy(line -> assertThat(line).contains("resilient.db.retrys", "did you mean resilient.db.retry.*?"));
    }

    @Test
    void turnedOffStarterChecksNothing() {
        this.contextRunner.withPropertyValues("resilient.db.enabled=false", "resilient.db.pool.max-szie=20")
            .run(context -> assertThat(context).hasNotFailed());
    }

    /** The description's line about one property: its name, where it was set, and the hint. */
    private static String line(FailureAnalysis analysis, String property) {
        return analysis.getDescription().lines().filter(line -> line.startsWith("  " + property + " ("))
            .findFirst().orElseThrow(() -> new AssertionError(property + " not in:\n" + analysis.getDescription()));
    }

    private static void loadYaml(ConfigurableApplicationContext context) {
        try {
            new YamlPropertySourceLoader().load("application.yml", new ClassPathResource("unknown-resilient-db-keys.yml"))
                .forEach(context.getEnvironment().getPropertySources()::addFirst);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Environment variables as Spring Boot sees them, without touching the test JVM's own. */
    private static void environmentVariables(ConfigurableApplicationContext context, Map<String, Object> variables) {
        context.getEnvironment().getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
    }

}
