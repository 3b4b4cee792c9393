package dev.resilientdb.jpa;

import java.time.Duration;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.resilientdb.jpa.JpaTestApplication.Answer;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import jakarta.persistence.EntityManagerFactory;
import org.hibernate.SessionFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.orm.jpa.hibernate.HibernateTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hibernate's native {@code HibernateTransactionManager} with a session bound to the web request
 * ({@link SessionInViewConfiguration}): the retry gives the next attempt a new connection and
 * leaves the request's session holder in place, of the type the transaction manager and the
 * interceptor expect.
 */
class HibernateSessionInViewTests {

    private static final PostgresServer server = PostgresServers.shared();

    @BeforeEach
    void createTable() {
        JpaTestApplication.createTable(server);
    }

    @Test
    void requestWhoseBackendIsTerminatedIsRetriedOnANewConnectionAndWritesItsRowOnce() {
        JpaTestApplication.on(server, "jpa-hibernate-session-it")
            .withUserConfiguration(HibernateTransactionManagerConfiguration.class, SessionInViewConfiguration.class)
            .withPropertyValues("spring.jpa.open-in-view=false")
            .run(context -> {
                assertThat(context.getBean(PlatformTransactionManager.class)).isInstanceOf(HibernateTransactionManager.class);
                Answer answer = JpaTestApplication.postAndWait(JpaTestApplication.port(context),
                        "/accounts/session?fault=TERMINATE_BACKEND");
                assertThat(answer.status()).as(answer.body()).isEqualTo(200);
                List<Integer> pids = context.getBean(AccountService.class).backendPids("session");
                assertThat(pids).as("backends of the attempts").hasSize(2).doesNotHaveDuplicates();
                assertThat(server.queryLong("SELECT count(*) FROM jpa_accounts WHERE id = 'session'")).isEqualTo(1);
                HikariPoolMXBean pool = context.getBean(HikariDataSource.class).getHikariPoolMXBean();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (pool.getActiveConnections() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(pool.getActiveConnections()).as("connections still in use 30 s after the request").isZero();
            });
    }

    @Configuration(proxyBeanMethods = false)
    static class HibernateTransactionManagerConfiguration {

        /** On the factory bean itself, which is a {@code SessionFactory}: the key open-in-view binds under. */
        @Bean
        HibernateTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
            return new HibernateTransactionManager((SessionFactory) entityManagerFactory);
        }

    }

}
