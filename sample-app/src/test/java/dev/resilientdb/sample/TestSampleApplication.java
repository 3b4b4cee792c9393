package dev.resilientdb.sample;

import sun.misc.Signal;

import org.springframework.boot.SpringApplication;

/**
 * The sample for development, on an embedded PostgreSQL unless {@code spring.datasource.url} is given:
 * {@code mvn -pl sample-app -am spring-boot:test-run}. It lives on the test class path, so the
 * production jar and image carry no embedded database.
 */
public class TestSampleApplication {

    public static void main(String[] args) {
        exitNormallyOnSigterm();
        SpringApplication.from(SampleApplication::main).with(EmbeddedPostgresForDevelopment.class).run(args);
    }

    /**
     * Spring Boot's Maven plugin takes only exit codes 0 and 130 (Ctrl-C) for a normal end and reports
     * any other as BUILD FAILURE. A JVM stopped by SIGTERM exits with 143: {@code kill}, an IDE's stop
     * button, or the plugin itself when Ctrl-C reached Maven but not the application. For a development
     * run that stop is the normal end, so SIGTERM exits with 0, after the same shutdown hooks (the
     * graceful shutdown) as before. The production {@code main} keeps the JVM's 143.
     */
    private static void exitNormallyOnSigterm() {
        Signal.handle(new Signal("TERM"), (signal) -> System.exit(0));
    }

}
