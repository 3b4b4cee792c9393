package dev.resilientdb.actuate;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12, item 3: an application that turns every default health indicator off
 * ({@code management.health.defaults.enabled=false}) still starts: the starter puts {@code db} in
 * readiness only when the {@code db} indicator exists.
 */
class HealthDefaultsDisabledTests {

    private final PostgresServer server = PostgresServers.shared();

    @Test
    void applicationWithDefaultHealthIndicatorsOffStartsAndReadinessLeavesDbOut() {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(ActuatorTestApplication.class)
            .web(WebApplicationType.NONE)
            .properties("spring.datasource.url=" + this.server.jdbcUrl(),
                    "spring.datasource.username=" + this.server.username(),
                    "spring.datasource.password=" + this.server.password(),
                    "management.health.defaults.enabled=false")
            .run()) {
            assertThat(context.getEnvironment().getProperty("management.endpoint.health.group.readiness.include")).isNull();
            assertThat(context.getBean(HealthEndpoint.class).healthForPath("db")).isNull();
        }
    }

    @Test
    void dbIndicatorTurnedBackOnIsInReadiness() {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(ActuatorTestApplication.class)
            .web(WebApplicationType.NONE)
            .properties("spring.datasource.url=" + this.server.jdbcUrl(),
                    "spring.datasource.username=" + this.server.username(),
                    "spring.datasource.password=" + this.server.password(),
                    "management.health.defaults.enabled=false", "management.health.db.enabled=true")
            .run()) {
            assertThat(context.getEnvironment().getProperty("management.endpoint.health.group.readiness.include"))
                .isEqualTo("readinessState,db");
            assertThat(context.getBean(HealthEndpoint.class).healthForPath("readiness", "db")).isNotNull();
        }
    }

}
