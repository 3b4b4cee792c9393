package dev.resilientdb.actuate;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;

/**
 * A web application with nothing but auto-configuration, as a user's application with the starter,
 * Spring MVC and actuator would have it; for tests over real HTTP. It scans no components. It is a
 * JDBC application: JPA is on the test class path for the JPA tests only.
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration(excludeName = { "org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration",
        "org.springframework.boot.data.jpa.autoconfigure.DataJpaRepositoriesAutoConfiguration" })
class ActuatorTestApplication {

    /** Bounds a request that should never take this long, so that a broken bound fails instead of hanging. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ActuatorTestApplication() {
    }

    /** The answer to one request, and how long it took from sending to the last byte. */
    record Answer(int status, String body, Duration took) {
    }

    static Answer get(int port, String path) {
        return send(port, HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).GET());
    }

    static Answer post(int port, String path) {
        return send(port, HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{}")));
    }

    private static Answer send(int port, HttpRequest.Builder request) {
        long start = System.nanoTime();
        try {
            HttpResponse<String> response = HTTP.send(request.timeout(REQUEST_TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Answer(response.statusCode(), response.body(), Duration.ofNanos(System.nanoTime() - start));
        }
        catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

}
