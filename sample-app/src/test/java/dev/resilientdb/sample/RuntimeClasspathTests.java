package dev.resilientdb.sample;

import java.io.File;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringBootVersion;
import org.springframework.core.SpringVersion;
import org.springframework.util.ClassUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The resolved class path of the sample, a Spring Boot 4 application on {@code resilient-db-starter}:
 * Spring Boot 4.1 on Spring Framework 7, whose core retry runs the retries, so no Spring Retry; and
 * Resilience4j's core only, so no {@code resilience4j-spring-boot3}, which refuses to start on Boot 4.
 */
class RuntimeClasspathTests {

    /** The jars of the test class path (a superset of the runtime one), as surefire resolved them. */
    private static final List<String> jars = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .map((entry) -> new File(entry).getName())
        .filter((name) -> name.endsWith(".jar"))
        .toList();

    @Test
    void springBoot41OnSpringFramework7() {
        assertThat(SpringBootVersion.getVersion()).startsWith("4.1.");
        assertThat(SpringVersion.getVersion()).startsWith("7.");
        assertThat(jars).anyMatch((jar) -> jar.startsWith("spring-core-7."))
            .noneMatch((jar) -> jar.matches("spring-boot(-[a-z-]+)?-3\\..*"))
            .noneMatch((jar) -> jar.matches("spring-core-6\\..*"));
    }

    @Test
    void noSpringRetry() {
        assertThat(jars).noneMatch((jar) -> jar.startsWith("spring-retry-"));
        assertThat(ClassUtils.isPresent("org.springframework.retry.support.RetryTemplate", null)).isFalse();
        assertThat(ClassUtils.isPresent("org.springframework.core.retry.RetryTemplate", null)).isTrue();
    }

    @Test
    void circuitBreakerComesFromResilience4jsCoreWithoutABootIntegration() {
        assertThat(jars).anyMatch((jar) -> jar.startsWith("resilience4j-circuitbreaker-"))
            .noneMatch((jar) -> jar.startsWith("resilience4j-spring-boot"));
        assertThat(ClassUtils.isPresent(
                "io.github.resilience4j.springboot3.circuitbreaker.autoconfigure.CircuitBreakerAutoConfiguration", null))
            .isFalse();
        assertThat(Thread.currentThread().getContextClassLoader().getResource("io/github/resilience4j/springboot3"))
            .isNull();
    }

}
