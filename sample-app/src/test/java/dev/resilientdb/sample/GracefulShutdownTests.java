package dev.resilientdb.sample;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.resilientdb.sample.load.LoadDriver;
import dev.resilientdb.sample.load.LoadDriver.Outcome;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerPortFileWriter;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM in the middle of load, to the sample running as its own JVM, as Kubernetes sends it.
 * <p>
 * "In flight at the signal" means sent before the signal: the client had started the request (on an
 * open connection) when the signal was sent. Every such request must get an HTTP answer, never a
 * connection error: the server stops accepting new connections but finishes what it has. Requests
 * sent after the signal may find the server gone (connection refused or closed); that is what a
 * client of a stopping pod sees once Kubernetes has taken the pod out of the Service, and why the
 * Deployment's preStop gives it time to do so. Whatever the timing, every request that got a 201 is
 * stored exactly once.
 */
class GracefulShutdownTests {

    /**
     * Longer than the shipped 10 s, which is sized for a pod: on a build machine shared with other
     * builds the sample serves the requests queued at the signal several times slower, and the drain
     * must outlast that backlog for the test to be about draining rather than the machine's speed.
     */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private Process application;

    @AfterEach
    void stopApplication() {
        if (this.application != null && this.application.isAlive()) {
            this.application.destroyForcibly();
        }
    }

    @Test
    void sigtermDuringLoadFinishesEveryRequestInFlightAndLosesNoAcceptedJob() throws Exception {
        PostgresServer database = PostgresServers.shared();
        Path log = Path.of("target", "graceful-shutdown-app.log");
        Path portFile = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "graceful-shutdown-")
            .resolve("application.port");
        this.application = startApplication(portFile, database, log);
        int port = awaitPort(portFile, Duration.ofSeconds(90));
        int managementPort = awaitPort(portFile.resolveSibling("application-management.port"), Duration.ofSeconds(90));
        String baseUrl = "http://localhost:" + port;
        awaitReady("http://localhost:" + managementPort, Duration.ofSeconds(90));

        // The load lasts until after the application has exited, however long the machine takes to get there.
        LoadDriver.Options options = LoadDriver.Options.of(baseUrl, 1000, Long.MAX_VALUE)
            .withDuration(Duration.ofMinutes(5))
            .withoutUsageCheck();
        AtomicBoolean stopLoad = new AtomicBoolean();
        CompletableFuture<LoadDriver.Result> load = CompletableFuture
            .supplyAsync(() -> LoadDriver.run(options, System.out, stopLoad));
        long loadStarted = System.nanoTime();
        long signalled;
        boolean exited;
        long stopped;
        try {
            awaitJobsStoredSince(database, loadStarted, 1000, Duration.ofMinutes(2));
            signalled = System.nanoTime();
            this.application.destroy(); // SIGTERM on Linux
            // Drain (DRAIN_TIMEOUT at most), graceful shutdown (20 s at most), then the pool closes.
            exited = this.application.waitFor(DRAIN_TIMEOUT.toSeconds() + 60, TimeUnit.SECONDS);
            stopped = System.nanoTime();
            // Clients keep sending for a moment to a server that is gone.
            Thread.sleep(1_000);
        }
        finally {
            stopLoad.set(true);
        }
        LoadDriver.Result result = load.get(120, TimeUnit.SECONDS);

        List<Outcome> inFlight = result.outcomes().stream().filter((outcome) -> outcome.startNanos() < signalled).toList();
        List<Outcome> answeredAfterSignal = inFlight.stream().filter((outcome) -> outcome.endNanos() > signalled).toList();
        List<Outcome> sentAfterSignal = result.outcomes().stream().filter((outcome) -> outcome.startNanos() >= signalled)
            .toList();
        System.out.printf("SIGTERM after %d ms of load; application exited %s with status %s after %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(signalled - loadStarted), exited ? "" : "NOT",
                exited ? this.application.exitValue() : "-", TimeUnit.NANOSECONDS.toMillis(stopped - signalled));
        System.out.printf("sent before the signal: %d (%d of them answered after it); sent after: %d (%d got 201)%n",
                inFlight.size(), answeredAfterSignal.size(), sentAfterSignal.size(),
                sentAfterSignal.stream().filter(Outcome::created).count());

        assertThat(exited).as("application exited after SIGTERM").isTrue();
        assertThat(Files.readString(log)).contains("Commencing graceful shutdown")
            .contains("Graceful shutdown complete")
            // Tomcat stops before the beans are destroyed: a thread of the starter's that holds the web
            // application's class loader would be reported as a leak at every shutdown.
            .doesNotContain("appears to have started a thread named [resilient-db");
        assertThat(answeredAfterSignal).as("requests in flight at the signal").isNotEmpty();
        assertThat(inFlight).as("requests sent before the signal").allSatisfy((outcome) -> assertThat(outcome.status())
            .as(outcome.error() != null ? outcome.error() : "status").isEqualTo(201));
        assertThat(result.serverErrors()).isZero();
        assertThat(result.outcomes()).allSatisfy(
                (outcome) -> assertThat(outcome.created() || outcome.connectionError()).as("201 or no answer").isTrue());
        ExactlyOnce.assertEveryCreatedJobStoredExactlyOnce(result, database);
        ExactlyOnce.assertUsageEqualsStoredJobs(result, database);
    }

    /**
     * Starts the sample on ports the operating system chooses (a port chosen here and handed over could
     * be taken by another build in between); {@link WithPortFile} writes them to {@code portFile} and,
     * for the management server, to {@code application-management.port} beside it.
     */
    private static Process startApplication(Path portFile, PostgresServer database, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Files.createDirectories(log.getParent());
        return new ProcessBuilder(java, "-Xmx512m", "-DPORTFILE=" + portFile.toAbsolutePath(), "-cp",
                System.getProperty("java.class.path"), WithPortFile.class.getName(), "--server.port=0",
                "--management.server.port=0",
                "--spring.datasource.url=" + database.jdbcUrl(), "--spring.datasource.username=" + database.username(),
                "--spring.datasource.password=" + database.password(),
                "--sample.shutdown.drain.timeout=" + DRAIN_TIMEOUT.toSeconds() + "s")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    }

    private int awaitPort(Path portFile, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && this.application.isAlive()) {
            String written = Files.exists(portFile) ? Files.readString(portFile).trim() : "";
            if (!written.isEmpty()) {
                return Integer.parseInt(written);
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("The application wrote no " + portFile.getFileName() + " within " + timeout
                + (this.application.isAlive() ? "" : "; it exited with status " + this.application.exitValue()));
    }

    private static void awaitReady(String managementUrl, Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<Void> response = http.send(
                        HttpRequest.newBuilder(URI.create(managementUrl + "/actuator/health/readiness")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            }
            catch (IOException ex) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("The application did not become ready within " + timeout);
    }

    private static void awaitJobsStoredSince(PostgresServer database, long sinceNanos, long count, Duration timeout)
            throws InterruptedException {
        long since = System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos) - 1000;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            long stored = database.queryLong("SELECT count(*) FROM jobs WHERE type = 'load' AND created_at >= to_timestamp("
                    + since / 1000.0 + ")");
            if (stored >= count) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("Fewer than " + count + " jobs stored within " + timeout);
    }

    /** The sample's {@code main} with Spring Boot's port file writer added, which writes where {@code PORTFILE} says. */
    static final class WithPortFile {

        public static void main(String[] args) {
            SpringApplication application = new SpringApplication(SampleApplication.class);
            application.addListeners(new WebServerPortFileWriter());
            application.run(args);
        }

    }

}
