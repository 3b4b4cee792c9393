package dev.resilientdb.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code docs/BENCHMARKS.md}: one section per benchmark between markers, each replaced as a whole
 * by the run that measured it, so the file only ever holds numbers a run printed.
 */
final class BenchmarksDocument {

    static final List<String> SECTIONS = List.of("transaction-path", "side-by-side", "traffic-outage-matrix");

    private static final String HEADER = """
            # Benchmarks

            Numbers measured by the programs in `benchmarks/`, on real PostgreSQL, each section written by
            the run that printed it (do not edit the sections by hand: run the command again). Each
            section states the date, the machine, its load and the versions it ran with.

            """;

    private BenchmarksDocument() {
    }

    static String begin(String section) {
        return "<!-- BEGIN " + section + " (generated) -->";
    }

    static String end(String section) {
        return "<!-- END " + section + " -->";
    }

    /** Replaces the section's text in the document, creating the document when it does not exist. */
    static void writeSection(Path document, String section, String markdown) throws IOException {
        String text = Files.exists(document) ? Files.readString(document) : emptyDocument();
        text = replaceSection(text, section, markdown);
        Files.createDirectories(document.getParent());
        Files.writeString(document, text);
    }

    static String replaceSection(String text, String section, String markdown) {
        String begin = begin(section);
        String end = end(section);
        int from = text.indexOf(begin);
        int to = text.indexOf(end);
        if (from < 0 || to < from) {
            text = text + (text.endsWith("\n") ? "" : "\n") + begin + "\n" + end + "\n";
            from = text.indexOf(begin);
            to = text.indexOf(end);
        }
        String body = markdown.endsWith("\n") ? markdown : markdown + "\n";
        return text.substring(0, from) + begin + "\n" + body + text.substring(to);
    }

    private static String emptyDocument() {
        StringBuilder text = new StringBuilder(HEADER);
        for (String section : SECTIONS) {
            text.append(begin(section)).append("\n_Not run yet._\n").append(end(section)).append("\n\n");
        }
        return text.toString();
    }

}
