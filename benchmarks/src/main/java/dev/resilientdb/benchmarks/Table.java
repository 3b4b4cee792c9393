package dev.resilientdb.benchmarks;

import java.util.ArrayList;
import java.util.List;

/** A table printed to the console and written as Markdown, with the same cells in both. */
final class Table {

    private final List<String> header;

    private final List<List<String>> rows = new ArrayList<>();

    Table(String... header) {
        this.header = List.of(header);
    }

    Table row(Object... cells) {
        List<String> row = new ArrayList<>();
        for (Object cell : cells) {
            row.add(String.valueOf(cell));
        }
        this.rows.add(row);
        return this;
    }

    String markdown() {
        StringBuilder text = new StringBuilder();
        text.append("| ").append(String.join(" | ", this.header)).append(" |\n");
        text.append("|").append(" --- |".repeat(this.header.size())).append("\n");
        for (List<String> row : this.rows) {
            text.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        return text.toString();
    }

    String console() {
        int[] widths = new int[this.header.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = plain(this.header.get(i)).length();
            for (List<String> row : this.rows) {
                widths[i] = Math.max(widths[i], plain(row.get(i)).length());
            }
        }
        StringBuilder text = new StringBuilder();
        appendLine(text, this.header, widths);
        for (List<String> row : this.rows) {
            appendLine(text, row, widths);
        }
        return text.toString();
    }

    private static void appendLine(StringBuilder text, List<String> cells, int[] widths) {
        for (int i = 0; i < cells.size(); i++) {
            String cell = plain(cells.get(i));
            text.append(i == 0 ? String.format("%-" + widths[i] + "s", cell) : String.format("  %" + widths[i] + "s", cell));
        }
        text.append('\n');
    }

    private static String plain(String cell) {
        return cell.replace("`", "");
    }

}
