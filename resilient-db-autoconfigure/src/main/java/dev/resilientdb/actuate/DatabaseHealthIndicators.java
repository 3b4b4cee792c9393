package dev.resilientdb.actuate;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.HealthContributors;

/**
 * The {@code db} health of an application with several DataSources: one member per DataSource bean,
 * named after the bean, as Spring Boot's own {@code db} contributor has them
 * ({@code /actuator/health/db/<bean>}). Closing it closes the members' probes.
 */
public class DatabaseHealthIndicators implements CompositeHealthContributor, DisposableBean {

    private final Map<String, HealthIndicator> indicators;

    /** @param indicators the indicator of each DataSource, by bean name */
    public DatabaseHealthIndicators(Map<String, HealthIndicator> indicators) {
        this.indicators = new LinkedHashMap<>(indicators);
    }

    @Override
    public @Nullable HealthContributor getContributor(String name) {
        return this.indicators.get(name);
    }

    @Override
    public Stream<HealthContributors.Entry> stream() {
        return this.indicators.entrySet().stream().map(entry -> new HealthContributors.Entry(entry.getKey(), entry.getValue()));
    }

    @Override
    public void destroy() throws Exception {
        for (HealthIndicator indicator : this.indicators.values()) {
            if (indicator instanceof DisposableBean disposable) {
                disposable.destroy();
            }
        }
    }

}
