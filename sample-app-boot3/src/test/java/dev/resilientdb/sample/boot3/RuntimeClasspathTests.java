package dev.resilientdb.sample.boot3;

import java.io.File;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringBootVersion;
import org.springframework.core.SpringVersion;
import org.springframework.util.ClassUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The resolved class path of a Spring Boot 3.5 application on {@code resilient-db-starter-boot3}:
 * Spring Boot 3.5 on Spring Framework 6.2, the retry engine on Spring Retry, nothing of Spring Boot 4,
 * and Resilience4j's core only, without a Boot integration.
 */
class RuntimeClasspathTests {

    /** The jars of the test class path (a superset of the runtime one), as surefire resolved them. */
    private static final List<String> jars = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .map((entry) -> new File(entry).getName())
        .filter((name) -> name.endsWith(".jar"))
        .toList();

    @Test
    void springBoot35OnSpringFramework62() {
        assertThat(SpringBootVersion.getVersion()).startsWith("3.5.");
        assertThat(SpringVersion.getVersion()).startsWith("6.2.");
        assertThat(jars).anyMatch((jar) -> jar.startsWith("spring-core-6.2."))
            .noneMatch((jar) -> jar.matches("spring-boot(-[a-z-]+)?-4\\..*"))
            .noneMatch((jar) -> jar.matches("spring-core-7\\..*"));
    }

    @Test
    void retryEngineRunsOnSpringRetry() {
        assertThat(jars).anyMatch((jar) -> jar.startsWith("spring-retry-2."));
        assertThat(ClassUtils.isPresent("org.springframework.retry.support.RetryTemplate", null)).isTrue();
    }

    @Test
    void circuitBreakerComesFromResilience4jsCoreWithoutABootIntegration() {
        assertThat(jars).anyMatch((jar) -> jar.startsWith("resilience4j-circuitbreaker-"))
            .noneMatch((jar) -> jar.startsWith("resilience4j-spring-boot"));
    }

}
