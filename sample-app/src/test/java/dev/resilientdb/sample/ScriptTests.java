package dev.resilientdb.sample;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.resilientdb.test.PortReservation;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The operator scripts in {@code scripts/}, run as an operator would, against the running sample.
 * {@code verify} needs bash and curl on the machine, as it does in a deployment.
 */
class ScriptTests extends SampleHttpTestSupport {

    @Test
    void verifyPassesEveryStepAgainstRunningSample() throws Exception {
        Run run = run("bash", "scripts/verify", "http://localhost:" + this.port,
                "http://localhost:" + this.managementPort);
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).contains("PASSED  health", "PASSED  database health", "PASSED  create job",
                "PASSED  read job", "PASSED  usage").doesNotContain("FAILED  ");
    }

    @Test
    void verifyFailsEveryStepWhenNothingAnswers() throws Exception {
        // Reserved, so that nothing (another build's server, say) listens on it while the script runs.
        Run run;
        try (PortReservation unused = PortReservation.reserve()) {
            String nothing = "http://localhost:" + unused.port();
            run = run("bash", "scripts/verify", nothing, nothing);
        }
        assertThat(run.exitCode()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("FAILED  health", "FAILED  database health", "FAILED  usage")
            .doesNotContain("PASSED  ");
    }

    @Test
    void loadScriptRunsTheDriverAsSingleFileProgram() throws Exception {
        Run run = run("bash", "scripts/load", "--base-url", "http://localhost:" + this.port, "--clients", "8",
                "--requests", "40", "--accounts", "2");
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).contains("status codes: 201=40", "usage: sum over 2 accounts = 40, 201 responses = 40: MATCH",
                "RESULT: PASSED");
    }

    @Test
    void loadScriptRejectsUnknownOptions() throws Exception {
        Run run = run("bash", "scripts/load", "--clients", "many");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.output()).contains("--clients needs a number");
    }

    private static Run run(String... command) throws IOException, InterruptedException {
        List<String> commandLine = new ArrayList<>(List.of(command));
        ProcessBuilder builder = new ProcessBuilder(commandLine).directory(Path.of("").toAbsolutePath().toFile())
            .redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        System.out.println(output);
        return new Run(process.exitValue(), output);
    }

    private record Run(int exitCode, String output) {
    }

}
