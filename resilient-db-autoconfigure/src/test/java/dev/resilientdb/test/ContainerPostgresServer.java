package dev.resilientdb.test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * A real PostgreSQL server in a Docker container (Testcontainers), used where a Docker engine
 * answers. The host port is reserved ({@link PortReservation}) and bound explicitly, so that it survives
 * stopping and starting the container.
 */
final class ContainerPostgresServer extends PostgresServer {

    private static final String IMAGE = "postgres:17-alpine";

    private static final String SUPERUSER = "postgres";

    private static final String SUPERUSER_PASSWORD = "postgres";

    private final PortReservation reservation;

    private final PostgreSQLContainer<?> container;

    private ContainerPostgresServer(PortReservation reservation) {
        super(reservation.port());
        this.reservation = reservation;
        List<String> command = new ArrayList<>(List.of("postgres", "-c", "max_connections=100", "-c",
                "superuser_reserved_connections=3"));
        READY_LOG_SETTINGS.forEach(setting -> command.addAll(List.of("-c", setting)));
        this.container = new PostgreSQLContainer<>(IMAGE)
            .withUsername(SUPERUSER)
            .withPassword(SUPERUSER_PASSWORD)
            .withDatabaseName("postgres")
            .withCommand(command.toArray(String[]::new))
            .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                .withPortBindings(new PortBinding(Ports.Binding.bindPort(reservation.port()), new ExposedPort(5432))));
    }

    static ContainerPostgresServer startNew() {
        ContainerPostgresServer server = new ContainerPostgresServer(PortReservation.reserve());
        try {
            long startCalled = System.nanoTime();
            server.container.start();
            server.awaitReady(Duration.ofSeconds(30));
            server.recordReadyInstant(startCalled, null);
            server.createApplicationRole();
            return server;
        }
        catch (RuntimeException ex) {
            server.close();
            throw ex;
        }
    }

    @Override
    public String description() {
        return "Testcontainers " + IMAGE + " on port " + port();
    }

    @Override
    protected String superuserName() {
        return SUPERUSER;
    }

    @Override
    protected String superuserPassword() {
        return SUPERUSER_PASSWORD;
    }

    @Override
    public void stop() {
        docker().stopContainerCmd(this.container.getContainerId()).exec();
    }

    @Override
    public void start() {
        long startCalled = System.nanoTime();
        Instant previous = lastReadyInstant(this.container.getLogs());
        docker().startContainerCmd(this.container.getContainerId()).exec();
        awaitReady(Duration.ofSeconds(30));
        recordReadyInstant(startCalled, previous);
    }

    /** Waits for the container's log to show a ready line newer than {@code previous}; Docker forwards logs late. */
    private void recordReadyInstant(long startCalled, Instant previous) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Instant ready = lastReadyInstant(this.container.getLogs());
        while (ready == null || ready.equals(previous)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("PostgreSQL in " + IMAGE + " answers but its log shows no new ready line");
            }
            sleep(Duration.ofMillis(50));
            ready = lastReadyInstant(this.container.getLogs());
        }
        recordReady(startCalled, ready);
    }

    @Override
    public void kill() {
        docker().killContainerCmd(this.container.getContainerId()).withSignal("SIGKILL").exec();
    }

    @Override
    public void pause() {
        docker().pauseContainerCmd(this.container.getContainerId()).exec();
    }

    @Override
    public void resume() {
        docker().unpauseContainerCmd(this.container.getContainerId()).exec();
    }

    @Override
    public void close() {
        try {
            this.container.stop();
        }
        finally {
            this.reservation.close();
        }
    }

    private DockerClient docker() {
        return this.container.getDockerClient();
    }

}
