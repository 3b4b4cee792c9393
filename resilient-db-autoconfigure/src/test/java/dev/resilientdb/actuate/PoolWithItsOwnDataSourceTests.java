package dev.resilientdb.actuate;

import java.time.Duration;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;
import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbHealthAutoConfiguration;
import dev.resilientdb.pool.DatabaseProbe;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12, item 1: a HikariCP pool built from its own {@code DataSource} or
 * {@code dataSourceClassName}, with no JDBC URL. The health probe, the start-up wait and the
 * breaker's recovery check (the same probe) reach the server the way the pool does.
 */
class PoolWithItsOwnDataSourceTests {

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(ResilientDbAutoConfiguration.class,
                HealthContributorAutoConfiguration.class, ResilientDbHealthAutoConfiguration.class))
        .withPropertyValues("resilient.db.driver.application-name=own-datasource-it");

    @Test
    void poolWithItsOwnDataSourceIsUpAndTheStartupWaitPasses() {
        this.contextRunner.withBean("dataSource", HikariDataSource.class, this::poolWithDataSource)
            .withPropertyValues("resilient.db.startup.wait-for-database=3s")
            .run(context -> {
                assertThat(context).hasNotFailed();
                Health health = context.getBean("dbHealthContributor", HealthIndicator.class).health();
                assertThat(health.getStatus()).as(health.toString()).isEqualTo(Status.UP);
            });
    }

    @Test
    void poolWithADataSourceClassNameIsUpAndTheStartupWaitPasses() {
        this.contextRunner.withBean("dataSource", HikariDataSource.class, this::poolWithDataSourceClassName)
            .withPropertyValues("resilient.db.startup.wait-for-database=3s")
            .run(context -> {
                assertThat(context).hasNotFailed();
                Health health = context.getBean("dbHealthContributor", HealthIndicator.class).health();
                assertThat(health.getStatus()).as(health.toString()).isEqualTo(Status.UP);
                assertThat(this.server.backendPids("own-datasource-it-health")).hasSize(1);
            });
    }

    /** The database state's probe, which sees the database's return outside the pool, on a new connection. */
    @Test
    void stateProbeReachesAPoolWithItsOwnDataSourceOrClassName() {
        for (HikariDataSource pool : List.of(poolWithDataSource(), poolWithDataSourceClassName())) {
            try (pool; DatabaseProbe probe = new DatabaseProbe(pool, Duration.ofSeconds(2), "own-datasource-it-state")) {
                assertThat(probe.check(true).reachable()).isTrue();
            }
        }
    }

    private HikariDataSource poolWithDataSource() {
        PGSimpleDataSource driver = new PGSimpleDataSource();
        driver.setServerNames(new String[] { "localhost" });
        driver.setPortNumbers(new int[] { this.server.port() });
        driver.setDatabaseName(PostgresServer.APP_DATABASE);
        HikariDataSource pool = new HikariDataSource();
        pool.setDataSource(driver);
        pool.setUsername(this.server.username());
        pool.setPassword(this.server.password());
        pool.setInitializationFailTimeout(-1);
        return pool;
    }

    private HikariDataSource poolWithDataSourceClassName() {
        HikariDataSource pool = new HikariDataSource();
        pool.setDataSourceClassName(PGSimpleDataSource.class.getName());
        pool.addDataSourceProperty("serverName", "localhost");
        pool.addDataSourceProperty("portNumber", Integer.toString(this.server.port()));
        pool.addDataSourceProperty("databaseName", PostgresServer.APP_DATABASE);
        pool.setUsername(this.server.username());
        pool.setPassword(this.server.password());
        pool.setInitializationFailTimeout(-1);
        return pool;
    }

}
