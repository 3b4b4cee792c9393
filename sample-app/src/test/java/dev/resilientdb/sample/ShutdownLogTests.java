package dev.resilientdb.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stopping the sample after it served health checks and requests says nothing about the starter:
 * Tomcat stops before the beans are destroyed, and reports every thread still running that holds
 * the web application's class loader as a leak, at WARN with its stack trace.
 */
@ExtendWith(OutputCaptureExtension.class)
class ShutdownLogTests {

    private static final HttpClient http = HttpClient.newHttpClient();

    @Test
    void stoppingTheSampleReportsNoThreadOfTheStarterAsALeak(CapturedOutput output) throws Exception {
        PostgresServer database = PostgresServers.shared();
        ConfigurableApplicationContext context = new SpringApplicationBuilder(SampleApplication.class).run(
                "--server.port=0", "--management.server.port=0", "--spring.datasource.url=" + database.jdbcUrl(),
                "--spring.datasource.username=" + database.username(),
                "--spring.datasource.password=" + database.password());
        try {
            String port = context.getEnvironment().getProperty("local.server.port");
            String managementPort = context.getEnvironment().getProperty("local.management.port");
            for (String path : new String[] { "/actuator/health/readiness", "/actuator/health" }) {
                assertThat(status("http://localhost:" + managementPort + path)).isEqualTo(200);
            }
            HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"account\":\"shutdown-log\",\"type\":\"render\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).isEqualTo(201);
        }
        finally {
            context.close();
        }
        assertThat(output).contains("Graceful shutdown complete")
            .doesNotContain("appears to have started a thread named [resilient-db");
    }

    private static int status(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
            .statusCode();
    }

}
