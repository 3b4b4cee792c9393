package dev.resilientdb.autoconfigure;

import java.util.Map;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Turns on the liveness and readiness health groups and puts {@code db} in readiness (never in
 * liveness: a slow database should take a pod out of the load balancer, not restart it). The
 * defaults sit last among the property sources, so anything the application sets wins. Nothing is
 * added when resilient-db or the {@code db} health indicator is turned off, by
 * {@code management.health.db.enabled} or, without it, {@code management.health.defaults.enabled}:
 * a readiness group that names a missing {@code db} stops start-up.
 */
class KubernetesProbesEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    static final String SOURCE_NAME = "resilientDbProbeDefaults";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (!environment.getProperty(ResilientDbProperties.PREFIX + ".enabled", Boolean.class, true)
                || !dbHealthIndicatorEnabled(environment)) {
            return;
        }
        environment.getPropertySources().addLast(new MapPropertySource(SOURCE_NAME, Map.of(
                "management.endpoint.health.probes.enabled", "true",
                "management.endpoint.health.group.readiness.include", "readinessState,db")));
    }

    /** As {@code @ConditionalOnEnabledHealthIndicator("db")} decides: its own switch, else the defaults' switch. */
    private static boolean dbHealthIndicatorEnabled(ConfigurableEnvironment environment) {
        Boolean enabled = environment.getProperty("management.health.db.enabled", Boolean.class);
        return (enabled != null) ? enabled : environment.getProperty("management.health.defaults.enabled", Boolean.class, true);
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }

}
