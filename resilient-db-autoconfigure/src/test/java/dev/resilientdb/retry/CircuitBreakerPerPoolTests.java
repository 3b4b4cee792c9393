package dev.resilientdb.retry;

import javax.sql.DataSource;

import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.LazyConnectionDataSourceProxy;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two transaction managers that reach one HikariCP pool through different {@code DataSource} objects (here
 * a {@code LazyConnectionDataSourceProxy}; Spring unwraps a {@code TransactionAwareDataSourceProxy} itself)
 * share one circuit breaker: each breaker lowers and restores the pool's minimum-idle on its own, so
 * two breakers for one pool, opening and closing in turn, could leave it at 0.
 */
class CircuitBreakerPerPoolTests {

    private final ApplicationContextRunner contextRunner = RetryTestApplication.on(PostgresServers.shared(), "breaker-per-pool-it")
        .withUserConfiguration(TwoManagersOnePool.class);

    @Test
    void managersOnOnePoolThroughDifferentDataSourcesShareOneBreaker() {
        this.contextRunner.run(context -> {
            DataSourceTransactionManager direct = context.getBean("directTransactionManager", DataSourceTransactionManager.class);
            DataSourceTransactionManager proxied = context.getBean("proxiedTransactionManager", DataSourceTransactionManager.class);
            assertThat(proxied.getDataSource()).isNotSameAs(direct.getDataSource());
            Integer one = new TransactionTemplate(proxied).execute(status -> 1);
            assertThat(one).isEqualTo(1);
            DatabaseCircuitBreakers breakers = context.getBean(RetryEngine.class).circuitBreakers();
            assertThat(breakers.forTransactionManager(proxied)).isSameAs(breakers.forTransactionManager(direct))
                .isSameAs(breakers.shared());
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class TwoManagersOnePool {

        @Bean
        @Primary
        JdbcTransactionManager directTransactionManager(DataSource dataSource) {
            return new JdbcTransactionManager(dataSource);
        }

        @Bean
        DataSourceTransactionManager proxiedTransactionManager(DataSource dataSource) {
            return new DataSourceTransactionManager(new LazyConnectionDataSourceProxy(dataSource));
        }

    }

}
