package dev.resilientdb.sample;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import org.springframework.boot.test.system.CapturedOutput;

/**
 * What an operator reads in the console log from a moment on: the lines at ERROR and at WARN, the
 * lines of stack traces, and the retry engine's summary of each fault episode.
 */
final class LogLines {

    private static final Pattern LOG_EVENT = Pattern.compile("^\\d{4}-\\d{2}-\\d{2}T\\S+\\s+[A-Z]+ \\d+ --- .*");

    private static final String EMBEDDED_SERVER_LOGGER = "i.z.t.d.p.embedded.";

    private static final Pattern ERROR = Pattern.compile("^\\S+\\s+ERROR \\d+ --- .*");

    private static final Pattern WARN = Pattern.compile("^\\S+\\s+WARN \\d+ --- .*");

    private static final Pattern STACK_TRACE = Pattern.compile("^(\\s+at |\\s*Caused by: |\\s+\\.\\.\\. \\d+ more).*");

    private static final Pattern SUMMARY = Pattern.compile(".* WARN .*resilient-db: pool '[^']+': \\d+ units? of work retried .*");

    private final CapturedOutput output;

    private final int from;

    private LogLines(CapturedOutput output, int from) {
        this.output = output;
        this.from = from;
    }

    /** The lines logged from now on. */
    static LogLines from(CapturedOutput output) {
        return new LogLines(output, output.getOut().length());
    }

    /**
     * The lines logged from now on, without those of the embedded server the suite drives: its
     * complaints about a postmaster the suite killed are the fault, not the application's log.
     */
    List<String> lines() {
        List<String> lines = new ArrayList<>();
        boolean harness = false;
        for (String line : this.output.getOut().substring(this.from).lines().toList()) {
            if (LOG_EVENT.matcher(line).matches()) {
                harness = line.contains(EMBEDDED_SERVER_LOGGER);
            }
            if (!harness) {
                lines.add(line);
            }
        }
        return lines;
    }

    List<String> errors() {
        return lines().stream().filter((line) -> ERROR.matcher(line).matches()).toList();
    }

    long warnings() {
        return lines().stream().filter((line) -> WARN.matcher(line).matches()).count();
    }

    long stackTraceLines() {
        return lines().stream().filter((line) -> STACK_TRACE.matcher(line).matches()).count();
    }

    List<String> summaries() {
        return lines().stream().filter((line) -> SUMMARY.matcher(line).matches()).toList();
    }

    /** Waits until the episode's summary has been logged, or the time is up. */
    List<String> awaitSummaries(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (summaries().isEmpty() && System.nanoTime() < end) {
            try {
                Thread.sleep(100);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return summaries();
    }

    /** "0 ERROR, 12 WARN, 0 stack-trace lines, 1 summary". */
    String counts() {
        return String.format(Locale.ROOT, "%d ERROR, %d WARN, %d stack-trace lines, %d summary", errors().size(),
                warnings(), stackTraceLines(), summaries().size());
    }

}
