package dev.resilientdb.sample;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/**
 * Shutdown in two steps on SIGTERM: {@link ConnectionDraining} first, then Spring Boot's graceful
 * shutdown ({@code server.shutdown=graceful}), then the pool closes.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ShutdownConfiguration.DrainProperties.class)
class ShutdownConfiguration {

    @Bean
    ConnectionDraining connectionDraining(DrainProperties properties) {
        return new ConnectionDraining(properties.getTimeout());
    }

    @Bean
    FilterRegistrationBean<ConnectionDraining> connectionDrainingFilter(ConnectionDraining draining) {
        FilterRegistrationBean<ConnectionDraining> registration = new FilterRegistrationBean<>(draining);
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }

    /** Settings of the connection-draining step of shutdown. */
    @ConfigurationProperties("sample.shutdown.drain")
    static class DrainProperties {

        /** Longest time to keep serving open connections after SIGTERM before the graceful shutdown. */
        private Duration timeout = Duration.ofSeconds(10);

        public Duration getTimeout() {
            return this.timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }

    }

}
