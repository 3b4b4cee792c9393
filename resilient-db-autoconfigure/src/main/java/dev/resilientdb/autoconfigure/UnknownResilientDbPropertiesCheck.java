package dev.resilientdb.autoconfigure;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.resilientdb.autoconfigure.ResilientDbProperties.UnknownKeys;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.origin.Origin;
import org.springframework.boot.origin.PropertySourceOrigin;
import org.springframework.boot.origin.SystemEnvironmentOrigin;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.util.Assert;

/**
 * Finds properties under {@code resilient.db} that name nothing the starter binds (a typo such as
 * {@code resilient.db.pool.max-szie} in {@code application.yml}, or {@code RESILIENT_DB_RETRYS} in the
 * environment) before any bean is created, and, as {@code resilient.db.unknown-keys} says, fails
 * start-up with {@link UnknownResilientDbPropertiesException} or logs one warning per property.
 * Spring Boot itself ignores such properties, so a typo silently leaves the default in place.
 */
class UnknownResilientDbPropertiesCheck implements BeanFactoryPostProcessor, EnvironmentAware, Ordered {

    private static final Log logger = LogFactory.getLog(UnknownResilientDbPropertiesCheck.class);

    private @Nullable Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public void postProcessBeanFactory(ConfigurableListableBeanFactory beanFactory) {
        List<UnknownResilientDbProperty> unknown = find(environment());
        if (unknown.isEmpty()) {
            return;
        }
        UnknownKeys mode = Binder.get(environment())
            .bind(ResilientDbProperties.PREFIX + ".unknown-keys", UnknownKeys.class)
            .orElse(UnknownKeys.FAIL);
        if (mode == UnknownKeys.FAIL) {
            throw new UnknownResilientDbPropertiesException(unknown);
        }
        for (UnknownResilientDbProperty property : unknown) {
            logger.warn("resilient-db: unknown property " + property.describe() + " It is ignored "
                    + "(resilient.db.unknown-keys=warn).");
        }
    }

    /** The unknown properties, each once, where it is set with the highest precedence. */
    static List<UnknownResilientDbProperty> find(Environment environment) {
        Map<String, UnknownResilientDbProperty> unknown = new LinkedHashMap<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (!(source instanceof IterableConfigurationPropertySource iterable)) {
                continue;
            }
            iterable.filter(ResilientDbPropertyNames::isInNamespace).stream()
                .filter(name -> !ResilientDbPropertyNames.isKnown(name))
                .forEach(name -> {
                    ConfigurationProperty property = source.getConfigurationProperty(name);
                    Origin origin = (property != null) ? property.getOrigin() : null;
                    String written = writtenName(source, name, origin);
                    unknown.putIfAbsent(written, new UnknownResilientDbProperty(written,
                            (origin != null) ? origin.toString() : null, ResilientDbPropertyNames.nearest(name),
                            ResilientDbPropertyNames.choicesNear(name)));
                });
        }
        return new ArrayList<>(unknown.values());
    }

    /** The environment variable as set ({@code RESILIENT_DB_POOL_MAX_SZIE}); other names in their canonical form. */
    private static String writtenName(ConfigurationPropertySource source, ConfigurationPropertyName name, @Nullable Origin origin) {
        if (source.getUnderlyingSource() instanceof SystemEnvironmentPropertySource) {
            if (origin instanceof SystemEnvironmentOrigin environmentOrigin) {
                return environmentOrigin.getProperty();
            }
            if (origin instanceof PropertySourceOrigin propertySourceOrigin) {
                return propertySourceOrigin.getPropertyName();
            }
        }
        return name.toString();
    }

    /** Before the other bean factory post-processors: nothing else should act on a misspelt configuration. */
    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    private Environment environment() {
        Environment environment = this.environment;
        Assert.state(environment != null, "No Environment set");
        return environment;
    }

}
