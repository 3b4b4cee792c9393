package dev.resilientdb.sample.boot3;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A minimal Spring Boot 3.5 web application on {@code resilient-db-starter-boot3}: one endpoint that
 * writes in a retried transaction, and the starter's health, {@code dbpool} endpoint and meters.
 * It proves the 3.5 starter end to end; the full sample ({@code sample-app}) runs on Spring Boot 4.
 */
@SpringBootApplication
public class Boot3SampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(Boot3SampleApplication.class, args);
    }

}
