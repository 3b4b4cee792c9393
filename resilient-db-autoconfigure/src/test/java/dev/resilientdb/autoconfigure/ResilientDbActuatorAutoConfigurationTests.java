package dev.resilientdb.autoconfigure;

import dev.resilientdb.actuate.DatabaseHealthIndicator;
import dev.resilientdb.actuate.DatabasePoolEndpoint;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.health.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.health.DataSourceHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conditions of the health, metrics and endpoint auto-configurations, and the probe defaults. No
 * database is needed: nothing here opens a connection.
 */
class ResilientDbActuatorAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class,
                HealthContributorAutoConfiguration.class, DataSourceHealthContributorAutoConfiguration.class,
                ResilientDbHealthAutoConfiguration.class, MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, DataSourcePoolMetricsAutoConfiguration.class,
                ResilientDbMetricsAutoConfiguration.class, EndpointAutoConfiguration.class,
                ResilientDbEndpointAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app");

    @Test
    void dbHealthIsTheStartersAndSpringBootsBacksOff() {
        this.contextRunner.run(context -> {
            assertThat(context).hasSingleBean(DatabaseHealthIndicator.class).doesNotHaveBean(DataSourceHealthIndicator.class);
            assertThat(context.getBean("dbHealthContributor")).isInstanceOf(DatabaseHealthIndicator.class);
        });
    }

    @Test
    void healthDisabledLeavesSpringBootsIndicator() {
        this.contextRunner.withPropertyValues("resilient.db.health.enabled=false").run(context -> {
            assertThat(context).doesNotHaveBean(DatabaseHealthIndicator.class);
            assertThat(context.getBean("dbHealthContributor")).isInstanceOf(DataSourceHealthIndicator.class);
        });
    }

    @Test
    void userDefinedDbHealthIndicatorWins() {
        this.contextRunner.withUserConfiguration(UserHealthConfiguration.class).run(context -> {
            assertThat(context).doesNotHaveBean(DatabaseHealthIndicator.class);
            assertThat(context.getBean("dbHealthIndicator", HealthIndicator.class).health().getStatus()).isEqualTo(Status.UP);
        });
    }

    @Test
    void withoutActuatorTheHealthBacksOff() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(HealthIndicator.class))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(DatabaseHealthIndicator.class));
    }

    @Test
    void poolUtilizationAndSaturationGaugesAreTaggedWithThePoolName() {
        this.contextRunner.run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("resilientdb.pool.utilization").tag("pool", "dataSource").gauge().value()).isZero();
            assertThat(registry.get("resilientdb.pool.saturated").tag("pool", "dataSource").gauge().value()).isZero();
        });
    }

    @Test
    void withoutMicrometerThePoolMetersBackOff() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(MeterRegistry.class))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean("resilientDbPoolMeters")
                .doesNotHaveBean("resilientDbHealthCheckMeter"));
    }

    @Test
    void dbpoolEndpointExistsOnlyWhenExposed() {
        this.contextRunner.run(context -> assertThat(context).doesNotHaveBean(DatabasePoolEndpoint.class));
        this.contextRunner.withPropertyValues("management.endpoints.web.exposure.include=dbpool")
            .run(context -> assertThat(context).hasSingleBean(DatabasePoolEndpoint.class));
    }

    @Test
    void credentialsSanitizerHidesPasswordsAndUrlsThatCarryThemButNotOtherValues() {
        this.contextRunner.withPropertyValues("spring.datasource.password=s3cret-pw").run(context -> {
            SanitizingFunction sanitizer = context.getBean("resilientDbCredentialsSanitizer", SanitizingFunction.class);
            assertThat(sanitize(sanitizer, "spring.datasource.password", "s3cret-pw")).isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "SPRING_DATASOURCE_PASSWORD", "x")).isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "password", "x")).isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "spring.datasource.url", "jdbc:postgresql://db/app?user=app&password=x"))
                .isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "spring.datasource.url", "jdbc:postgresql://app:x@db/app"))
                .isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "JAVA_TOOL_OPTIONS", "-Ddb.secret=s3cret-pw")).isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "sun.java.command", "app.jar")).isEqualTo(SanitizableData.SANITIZED_VALUE);
            assertThat(sanitize(sanitizer, "spring.datasource.url", "jdbc:postgresql://db:5432/app"))
                .isEqualTo("jdbc:postgresql://db:5432/app");
            assertThat(sanitize(sanitizer, "server.port", "8080")).isEqualTo("8080");
        });
    }

    @Test
    void userDefinedCredentialsSanitizerWins() {
        SanitizingFunction own = data -> data;
        this.contextRunner.withBean("resilientDbCredentialsSanitizer", SanitizingFunction.class, () -> own)
            .run(context -> assertThat(context.getBean("resilientDbCredentialsSanitizer")).isSameAs(own));
    }

    @Test
    void withoutActuatorNoSanitizerIsDefined() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(Endpoint.class))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean("resilientDbCredentialsSanitizer"));
    }

    private static Object sanitize(SanitizingFunction sanitizer, String key, String value) {
        return sanitizer.apply(new SanitizableData(null, key, value)).getValue();
    }

    @Test
    void probesAreOnAndReadinessIncludesDbByDefault() {
        StandardEnvironment environment = new StandardEnvironment();
        new KubernetesProbesEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());
        assertThat(environment.getProperty("management.endpoint.health.probes.enabled")).isEqualTo("true");
        assertThat(environment.getProperty("management.endpoint.health.group.readiness.include")).isEqualTo("readinessState,db");
        assertThat(environment.getProperty("management.endpoint.health.group.liveness.include")).isNull();
    }

    @Test
    void applicationsOwnProbeSettingsWin() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("application", Map.of(
                "management.endpoint.health.group.readiness.include", "readinessState",
                "management.endpoint.health.probes.enabled", "false")));
        new KubernetesProbesEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());
        assertThat(environment.getProperty("management.endpoint.health.group.readiness.include")).isEqualTo("readinessState");
        assertThat(environment.getProperty("management.endpoint.health.probes.enabled")).isEqualTo("false");
    }

    @Test
    void starterOffAddsNoProbeDefaults() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("application", Map.of("resilient.db.enabled", "false")));
        new KubernetesProbesEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());
        assertThat(environment.getPropertySources().contains(KubernetesProbesEnvironmentPostProcessor.SOURCE_NAME)).isFalse();
    }

    @Configuration(proxyBeanMethods = false)
    static class UserHealthConfiguration {

        @Bean
        HealthIndicator dbHealthIndicator() {
            return () -> org.springframework.boot.health.contributor.Health.up().build();
        }

    }

}
