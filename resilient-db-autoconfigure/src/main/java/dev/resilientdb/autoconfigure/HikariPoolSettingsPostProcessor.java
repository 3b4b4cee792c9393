package dev.resilientdb.autoconfigure;

import java.time.Duration;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.pool.DatabaseStartupWait;
import dev.resilientdb.pool.FailoverMonitor;
import dev.resilientdb.pool.ServerWaitingDataSource;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.util.Assert;

/**
 * Applies {@link HikariPoolSettings} to every HikariCP {@link DataSource} bean once Spring Boot has
 * bound {@code spring.datasource.hikari.*} to it, and before the pool starts; names an unnamed pool
 * after its bean, so that logs, metrics and health agree on it; makes it open connections through a
 * {@link ServerWaitingDataSource}, so that it refills as soon as a restarted database answers; gives it a
 * {@link FailoverMonitor}, so that it leaves a server a failover demoted; and, when
 * {@code resilient.db.startup.wait-for-database} is set, waits for the database.
 */
class HikariPoolSettingsPostProcessor implements BeanPostProcessor, EnvironmentAware, Ordered {

    private static final Log logger = LogFactory.getLog(HikariPoolSettingsPostProcessor.class);

    private final ObjectProvider<ResilientDbProperties> properties;

    private @Nullable Environment environment;

    HikariPoolSettingsPostProcessor(ObjectProvider<ResilientDbProperties> properties) {
        this.properties = properties;
    }

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof DataSource dataSource) {
            HikariDataSource hikari = HikariDataSources.unwrap(dataSource);
            if (hikari == null) {
                logger.warn("resilient-db: DataSource bean '" + beanName + "' is a " + bean.getClass().getName()
                        + ", not HikariCP: resilient.db.pool.* and resilient.db.driver.* are not applied to it");
            }
            else if (hikari.getHikariPoolMXBean() != null) {
                logger.warn("resilient-db: the HikariCP pool of DataSource bean '" + beanName + "' was started before "
                        + "resilient-db could configure it: resilient.db.pool.* and resilient.db.driver.* are not applied to it");
            }
            else {
                ResilientDbProperties properties = this.properties.getObject();
                if (hikari.getPoolName() == null) {
                    hikari.setPoolName(beanName);
                }
                String summary = new HikariPoolSettings(properties, environment()).applyTo(hikari);
                boolean waitsForServer = ServerWaitingDataSource.install(hikari);
                FailoverMonitor.install(hikari);
                logger.info("resilient-db: pool '" + hikari.getPoolName() + "' of DataSource bean '" + beanName + "': "
                        + summary + ", connects-wait-for-server=" + waitsForServer);
                Duration wait = properties.getStartup().getWaitForDatabase();
                if (!wait.isZero()) {
                    DatabaseStartupWait.await(hikari, wait, hikari.getDataSourceProperties().getProperty("ApplicationName"));
                }
            }
        }
        return bean;
    }

    /** Runs after Spring Boot's own DataSource post-processors, on the bound configuration. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE - 10;
    }

    private Environment environment() {
        Environment environment = this.environment;
        Assert.state(environment != null, "No Environment set");
        return environment;
    }

}
