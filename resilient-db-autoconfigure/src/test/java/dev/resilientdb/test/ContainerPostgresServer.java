package dev.resilientdb.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * A real PostgreSQL server in a Docker container (Testcontainers), used where a Docker engine
 * answers. The host port is bound explicitly so that it survives stopping and starting the container.
 */
final class ContainerPostgresServer extends PostgresServer {

    private static final String IMAGE = "postgres:17-alpine";

    private static final String SUPERUSER = "postgres";

    private static final String SUPERUSER_PASSWORD = "postgres";

    private final PostgreSQLContainer<?> container;

    private ContainerPostgresServer(int port) {
        super(port);
        this.container = new PostgreSQLContainer<>(IMAGE)
            .withUsername(SUPERUSER)
            .withPassword(SUPERUSER_PASSWORD)
            .withDatabaseName("postgres")
            .withCommand("postgres", "-c", "max_connections=100", "-c", "superuser_reserved_connections=3")
            .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                .withPortBindings(new PortBinding(Ports.Binding.bindPort(port), new ExposedPort(5432))));
    }

    static ContainerPostgresServer startNew() {
        ContainerPostgresServer server = new ContainerPostgresServer(freePort());
        server.container.start();
        server.awaitReady(Duration.ofSeconds(30));
        server.createApplicationRole();
        return server;
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
        docker().startContainerCmd(this.container.getContainerId()).exec();
        awaitReady(Duration.ofSeconds(30));
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
        this.container.stop();
    }

    private DockerClient docker() {
        return this.container.getDockerClient();
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
