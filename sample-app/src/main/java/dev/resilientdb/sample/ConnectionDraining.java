package dev.resilientdb.sample;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.connector.Connector;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle;
import org.springframework.context.SmartLifecycle;
import org.springframework.http.HttpHeaders;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The first step of shutting down: stop accepting connections, but keep serving every request that
 * arrives on a connection already open, each answered with {@code Connection: close}, until the
 * clients have closed them all or the drain timeout has passed. Spring Boot's graceful shutdown runs
 * after this one.
 * <p>
 * Why: Spring Boot's graceful shutdown waits only for requests already inside the application.
 * A request a client has sent on a kept-alive connection but that Tomcat has not yet read is answered
 * 503 (connector paused) or, once the connector stops a moment later, its connection is closed under
 * it. Under load that is hundreds of requests the client had sent before the signal. Draining first
 * lets each client finish the request it has in flight and learn, from {@code Connection: close},
 * to open a new connection, which a load balancer sends to another pod.
 */
class ConnectionDraining extends OncePerRequestFilter implements SmartLifecycle, TomcatConnectorCustomizer {

    private static final Log logger = LogFactory.getLog(ConnectionDraining.class);

    private final Duration timeout;

    private final List<Connector> connectors = new CopyOnWriteArrayList<>();

    private volatile boolean running;

    private volatile boolean draining;

    ConnectionDraining(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public void customize(Connector connector) {
        this.connectors.add(connector);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (this.draining) {
            response.setHeader(HttpHeaders.CONNECTION, "close");
        }
        chain.doFilter(request, response);
    }

    @Override
    public void start() {
        this.running = true;
    }

    @Override
    public void stop() {
        this.draining = true;
        long started = System.nanoTime();
        this.connectors.forEach((connector) -> connector.getProtocolHandler().closeServerSocketGraceful());
        long remaining = this.timeout.toMillis();
        for (Connector connector : this.connectors) {
            remaining = connector.getProtocolHandler().awaitConnectionsClose(Math.max(1, remaining));
        }
        long elapsed = Duration.ofNanos(System.nanoTime() - started).toMillis();
        if (remaining > 0) {
            logger.info("Shutdown: stopped accepting connections; all open connections drained in " + elapsed + " ms");
        }
        else {
            logger.info("Shutdown: stopped accepting connections; connections still open after " + elapsed
                    + " ms are left to the graceful shutdown");
        }
        this.running = false;
    }

    @Override
    public boolean isRunning() {
        return this.running;
    }

    /**
     * Not stopped when the context is only paused (Spring Framework 7 pauses the test contexts it
     * caches): a drained connector stays closed, so draining belongs to shutdown alone.
     */
    @Override
    public boolean isPauseable() {
        return false;
    }

    /** Just before Spring Boot's graceful shutdown of the web server. */
    @Override
    public int getPhase() {
        return WebServerGracefulShutdownLifecycle.SMART_LIFECYCLE_PHASE + 1;
    }

}
