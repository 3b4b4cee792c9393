package dev.resilientdb.sample;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sample started as its own JVM, as a developer or a container starts it, with its output in a log
 * file. The environment is the build's without any {@code SPRING_DATASOURCE_*}, plus what the test gives.
 */
final class SampleProcess implements AutoCloseable {

    /** Tomcat's line for each web server; the API's comes first, the management server starts after it. */
    private static final Pattern TOMCAT_STARTED = Pattern.compile("Tomcat started on port (\\d+)");

    private final Process process;

    private final Path log;

    private SampleProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Runs {@code java} with the given arguments; {@code environment} is added to the build's. */
    static SampleProcess start(Path log, Map<String, String> environment, String... javaArguments) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.addAll(List.of(javaArguments));
        Files.createDirectories(log.toAbsolutePath().getParent());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().keySet().removeIf((name) -> name.startsWith("SPRING_DATASOURCE_"));
        builder.environment().putAll(environment);
        return new SampleProcess(builder.start(), log);
    }

    /** The API's port, once the application has started; fails if it exits first. */
    int awaitApiPort(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String output = output();
            Matcher started = TOMCAT_STARTED.matcher(output);
            if (output.contains("Started SampleApplication") && started.find()) {
                return Integer.parseInt(started.group(1));
            }
            if (!this.process.isAlive()) {
                throw new IllegalStateException("The sample exited with status " + this.process.exitValue()
                        + " before it started:\n" + output);
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("The sample did not start within " + timeout + ":\n" + output());
    }

    /** Sends SIGTERM (on Linux) and returns the exit status. */
    int stop(Duration timeout) throws InterruptedException {
        this.process.destroy();
        return awaitExit(timeout);
    }

    int awaitExit(Duration timeout) throws InterruptedException {
        if (!this.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("The sample did not exit within " + timeout + ":\n" + output());
        }
        return this.process.exitValue();
    }

    String output() {
        try {
            return Files.exists(this.log) ? Files.readString(this.log) : "";
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close() {
        if (this.process.isAlive()) {
            this.process.destroyForcibly();
        }
    }

}
