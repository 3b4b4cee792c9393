package dev.resilientdb.autoconfigure;

import java.util.Map;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conditions and precedence of {@link ResilientDbAutoConfiguration}. The pool is never started
 * here (HikariCP starts lazily), so these tests need no database; what the settings do on a real
 * server is shown by {@link PoolSettingsIntegrationTests}.
 */
@ExtendWith(OutputCaptureExtension.class)
class ResilientDbAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ResilientDbAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app",
                "spring.datasource.username=app", "spring.datasource.password=s3cret");

    @Test
    void starterDefaultsReplaceHikariDefaults() {
        this.contextRunner.run(context -> {
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            assertThat(pool.getMaximumPoolSize()).isEqualTo(10);
            assertThat(pool.getMinimumIdle()).isEqualTo(10);
            assertThat(pool.getConnectionTimeout()).isEqualTo(2_000);
            assertThat(pool.getIdleTimeout()).isEqualTo(600_000);
            assertThat(pool.getMaxLifetime()).isEqualTo(1_800_000);
            assertThat(pool.getKeepaliveTime()).isEqualTo(30_000);
            assertThat(pool.getValidationTimeout()).isEqualTo(1_000);
            assertThat(pool.getLeakDetectionThreshold()).isZero();
            assertThat(pool.getInitializationFailTimeout()).isEqualTo(-1);
            assertThat(pool.getDataSourceProperties()).containsEntry("connectTimeout", "5")
                .containsEntry("socketTimeout", "45")
                .containsEntry("tcpKeepAlive", "true")
                .containsEntry("ApplicationName", "resilient-db")
                .containsEntry("options", "-c statement_timeout=30000");
        });
    }

    @Test
    void resilientDbPropertiesAreApplied() {
        this.contextRunner
            .withPropertyValues("resilient.db.pool.max-size=25", "resilient.db.pool.min-idle=5",
                    "resilient.db.pool.connection-timeout=750ms", "resilient.db.pool.validation-timeout=500ms",
                    "resilient.db.pool.name=orders",
                    "resilient.db.driver.socket-timeout=1500ms", "resilient.db.driver.statement-timeout=1s",
                    "resilient.db.driver.application-name=orders-api", "resilient.db.driver.tcp-keep-alive=false")
            .run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                assertThat(pool.getMaximumPoolSize()).isEqualTo(25);
                assertThat(pool.getMinimumIdle()).isEqualTo(5);
                assertThat(pool.getConnectionTimeout()).isEqualTo(750);
                assertThat(pool.getPoolName()).isEqualTo("orders");
                assertThat(pool.getDataSourceProperties()).containsEntry("socketTimeout", "2")
                    .containsEntry("options", "-c statement_timeout=1000")
                    .containsEntry("ApplicationName", "orders-api")
                    .containsEntry("tcpKeepAlive", "false");
            });
    }

    @Test
    void applicationNameDefaultsToSpringApplicationName() {
        this.contextRunner.withPropertyValues("spring.application.name=billing").run(context -> assertThat(
                context.getBean(HikariDataSource.class).getDataSourceProperties()).containsEntry("ApplicationName", "billing"));
    }

    @Test
    void springDatasourceHikariValueWinsOverStarterDefault() {
        this.contextRunner
            .withPropertyValues("spring.datasource.hikari.maximum-pool-size=30",
                    "spring.datasource.hikari.data-source-properties.socketTimeout=120")
            .run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                assertThat(pool.getMaximumPoolSize()).isEqualTo(30);
                assertThat(pool.getDataSourceProperties()).containsEntry("socketTimeout", "120");
            });
    }

    @Test
    void resilientDbValueWinsWhenBothAreSetAndTheConflictIsLogged(CapturedOutput output) {
        this.contextRunner
            .withPropertyValues("spring.datasource.hikari.maximum-pool-size=30", "resilient.db.pool.max-size=12",
                    "spring.datasource.hikari.data-source-properties.socketTimeout=120",
                    "resilient.db.driver.socket-timeout=50s")
            .run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                assertThat(pool.getMaximumPoolSize()).isEqualTo(12);
                assertThat(pool.getDataSourceProperties()).containsEntry("socketTimeout", "50");
                assertThat(output).contains(
                        "resilient.db.pool.max-size (12) overrides spring.datasource.hikari.maximum-pool-size (30)",
                        "resilient.db.driver.socket-timeout (50) overrides spring.datasource.hikari.data-source-properties.socketTimeout (120)");
            });
    }

    @Test
    void userStatementTimeoutInDriverOptionsIsKept() {
        this.contextRunner
            .withPropertyValues("spring.datasource.hikari.data-source-properties.options=-c statement_timeout=5min")
            .run(context -> assertThat(context.getBean(HikariDataSource.class).getDataSourceProperties())
                .containsEntry("options", "-c statement_timeout=5min"));
    }

    @Test
    void otherDriverOptionsAreExtendedWithTheStatementTimeout() {
        this.contextRunner.withPropertyValues("spring.datasource.hikari.data-source-properties.options=-c search_path=app")
            .run(context -> assertThat(context.getBean(HikariDataSource.class).getDataSourceProperties())
                .containsEntry("options", "-c search_path=app -c statement_timeout=30000"));
    }

    @Test
    void environmentVariablesBindThroughRelaxedBinding() {
        this.contextRunner
            .withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(
                    new SystemEnvironmentPropertySource("test-systemEnvironment",
                            Map.of("RESILIENT_DB_POOL_MAX_SIZE", "30", "RESILIENT_DB_DRIVER_STATEMENT_TIMEOUT", "20s"))))
            .run(context -> {
                HikariDataSource pool = context.getBean(HikariDataSource.class);
                assertThat(pool.getMaximumPoolSize()).isEqualTo(30);
                assertThat(pool.getDataSourceProperties()).containsEntry("options", "-c statement_timeout=20000");
            });
    }

    @Test
    void disabledStarterLeavesSpringBootDefaults() {
        this.contextRunner.withPropertyValues("resilient.db.enabled=false").run(context -> {
            assertThat(context).doesNotHaveBean(ResilientDbProperties.class)
                .doesNotHaveBean(HikariPoolSettingsPostProcessor.class);
            HikariDataSource pool = context.getBean(HikariDataSource.class);
            assertThat(pool.getConnectionTimeout()).isEqualTo(30_000);
            assertThat(pool.getDataSourceProperties()).isEmpty();
        });
    }

    @Test
    void withoutHikariOnTheClasspathThePoolSettingsBackOff() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(HikariDataSource.class))
            .withPropertyValues("spring.datasource.type=" + SimpleDriverDataSource.class.getName())
            .run(context -> {
                assertThat(context).hasNotFailed().hasSingleBean(ResilientDbProperties.class)
                    .doesNotHaveBean(HikariPoolSettingsPostProcessor.class);
            });
    }

    @Test
    void userDataSourceThatIsNotHikariStartsAndTheLogSaysWhatIsNotApplied(CapturedOutput output) {
        this.contextRunner.withUserConfiguration(PlainDataSourceConfiguration.class).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(DataSource.class);
            assertThat(context.getBean(DataSource.class)).isInstanceOf(SimpleDriverDataSource.class);
            assertThat(output).contains("DataSource bean 'plainDataSource' is a " + SimpleDriverDataSource.class.getName()
                    + ", not HikariCP: resilient.db.pool.* and resilient.db.driver.* are not applied to it");
        });
    }

    @Test
    void startupLogLineShowsEffectiveSettingsWithoutThePassword(CapturedOutput output) {
        this.contextRunner.run(context -> {
            assertThat(output).contains("resilient-db: pool 'dataSource' of DataSource bean 'dataSource'", "max-size=10", "connection-timeout=2000ms",
                    "socket-timeout=45s");
            assertThat(output).doesNotContain("s3cret");
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class PlainDataSourceConfiguration {

        @Bean
        SimpleDriverDataSource plainDataSource() {
            return new SimpleDriverDataSource(new org.postgresql.Driver(), "jdbc:postgresql://localhost:5432/app");
        }

    }

}
