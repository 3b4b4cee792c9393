package dev.resilientdb.sample;

import java.net.http.HttpRequest;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Actuator answers on the management port only: probes, database health, and metrics that show the
 * pool of 20 from {@code application.yml}.
 */
class ActuatorTests extends SampleHttpTestSupport {

    @Test
    void probesAndDatabaseHealthAreUpOnTheManagementPort() {
        for (String group : new String[] { "liveness", "readiness", "db" }) {
            Response response = management("/actuator/health/" + group);
            assertThat(response.status()).as(group).isEqualTo(200);
            assertThat(response.json().get("status").asString()).isEqualTo("UP");
        }
        assertThat(management("/actuator/health/readiness").body()).contains("\"db\"");
        assertThat(management("/actuator/health/liveness").body()).doesNotContain("\"db\"");
    }

    @Test
    void metricsShowThePoolSizeFromApplicationYaml() {
        // Spring Boot tests turn the Prometheus export off; /actuator/metrics reads the same meters.
        Response response = management("/actuator/metrics/hikaricp.connections.max?tag=pool:sample-pool");
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.json().get("measurements").get(0).get("value").asDouble()).isEqualTo(20.0);
    }

    @Test
    void apiPortDoesNotServeActuator() {
        assertThat(get("/actuator/health").status()).isEqualTo(404);
    }

    private Response management(String path) {
        return send(HttpRequest.newBuilder(java.net.URI.create("http://localhost:" + this.managementPort + path)).build());
    }

}
