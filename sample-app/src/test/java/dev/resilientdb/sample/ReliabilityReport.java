package dev.resilientdb.sample;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

import dev.resilientdb.sample.load.LoadDriver;

/**
 * The fault suite's results: one row per fault, printed as it is measured and collected in
 * {@code target/reliability-results.md}; with {@code -Dreliability.doc=true} the same table is
 * written into {@code docs/RELIABILITY.md}, so the document holds exactly what the suite printed.
 */
final class ReliabilityReport {

    private static final Path ROWS = Path.of("target", "reliability-rows.md");

    private static final Path RESULTS = Path.of("target", "reliability-results.md");

    private static final Path DOCUMENT = Path.of("..", "docs", "RELIABILITY.md");

    static {
        try {
            Files.createDirectories(ROWS.getParent());
            Files.deleteIfExists(ROWS);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private ReliabilityReport() {
    }

    /** Records and prints one fault's numbers. */
    static synchronized void add(String fault, LoadDriver.Result result, String recovery, String checks) {
        String row = String.format(Locale.ROOT, "| %s | %d | %d | %d | %.0f | %s | %s |", fault, result.outcomes().size(),
                result.outcomes().stream().filter(outcome -> outcome.status() >= 200 && outcome.status() < 300).count(),
                result.serverErrors(), result.latencyMillis(99), recovery, checks);
        System.out.println("reliability: " + row);
        try {
            Files.writeString(ROWS, row + System.lineSeparator(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            String document = document(Files.readAllLines(ROWS).stream().sorted().toList());
            Files.writeString(RESULTS, document);
            if (Boolean.getBoolean("reliability.doc")) {
                Files.createDirectories(DOCUMENT.getParent());
                Files.writeString(DOCUMENT, document);
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String document(List<String> rows) {
        return "# Reliability: faults injected under load\n\n"
                + "Written by the fault suite (`OutageFaultSuiteTests`, `ContentionFaultTests`, `FailoverFaultTests`,\n"
                + "`PgBouncerRestartFaultTests` in `sample-app`) from its own\n"
                + "measurements; regenerate with `mvn -pl sample-app -am verify -Dtest='*Fault*' "
                + "-Dsurefire.failIfNoSpecifiedTests=false -Dreliability.doc=true`.\n\n"
                + "Ran " + OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME) + " on "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, Java " + System.getProperty("java.version")
                + ", PostgreSQL 17 (embedded), the sample app with its own `application.yml` (pool of 20), "
                + "load from the project's `LoadDriver` (unique `Idempotency-Key` per request).\n\n"
                + "Rows F1-F3 (failover): a primary and a real streaming standby with synchronous replication\n"
                + "(`synchronous_commit=on`, `synchronous_standby_names='*'`), the sample on the multi-host URL\n"
                + "`jdbc:postgresql://a,b/app?targetServerType=primary&hostRecheckSeconds=1`; \"database back\" is the\n"
                + "instant the new primary logged that it accepts read-write connections, and every 201 is checked on\n"
                + "the new primary. Row P1: the sample behind a real PgBouncer in transaction mode\n"
                + "(`resilient.db.driver.pooler=pgbouncer-transaction`); \"database back\" is PgBouncer listening again.\n\n"
                + "Every row also checks: every 201 stored exactly once under the id the client got, and every\n"
                + "account's usage counter equal to its 201 count.\n\n"
                + "| fault | requests | 2xx | 5xx | p99 ms | database back → first 201 | checks |\n"
                + "| --- | --- | --- | --- | --- | --- | --- |\n" + String.join("\n", rows) + "\n";
    }

}
