package dev.resilientdb.sample;

import org.springframework.boot.SpringApplication;

/**
 * The sample for development, on an embedded PostgreSQL unless {@code spring.datasource.url} is given:
 * {@code mvn -pl sample-app -am spring-boot:test-run}. It lives on the test class path, so the
 * production jar and image carry no embedded database.
 */
public class TestSampleApplication {

    public static void main(String[] args) {
        SpringApplication.from(SampleApplication::main).with(EmbeddedPostgresForDevelopment.class).run(args);
    }

}
