package dev.resilientdb.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.jayway.jsonpath.JsonPath;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The IDE metadata that the configuration processor generates: every {@code resilient.db.*} key is
 * there, with a description, so that IDEs complete and explain it. The property reference in
 * {@code docs/configuration.md} is that metadata, so it cannot drift from the code: the test fails
 * when they differ, and rewrites the reference when run with {@code -Dreference.doc=true}. Every
 * {@code resilient.db.*} property that a page of the documentation puts in a table exists.
 */
class ConfigurationMetadataTests {

    private static final Path DOCS = Path.of("..", "docs");

    private static final Path CONFIGURATION = DOCS.resolve("configuration.md");

    private static final String START = "<!-- property-reference:start (written by ConfigurationMetadataTests from the configuration metadata) -->";

    private static final String END = "<!-- property-reference:end -->";

    private static final Pattern TABLE_PROPERTY = Pattern.compile("(?m)^\\| `(resilient\\.db\\.[a-z0-9.\\-]+)`");

    @Test
    void referenceIsTheConfigurationMetadata() throws IOException {
        String document = Files.readString(CONFIGURATION);
        assertThat(document).as("docs/configuration.md has the reference markers").contains(START, END);
        int start = document.indexOf(START) + START.length();
        int end = document.indexOf(END);
        String current = document.substring(start, end);
        String expected = "\n" + reference() + "\n";
        if (Boolean.getBoolean("reference.doc") && !current.equals(expected)) {
            Files.writeString(CONFIGURATION, document.substring(0, start) + expected + document.substring(end),
                    StandardCharsets.UTF_8);
            return;
        }
        assertThat(current).as("the property reference in docs/configuration.md; rewrite it with "
                + "mvn -pl resilient-db-autoconfigure -am verify -Dtest=ConfigurationMetadataTests "
                + "-Dsurefire.failIfNoSpecifiedTests=false -Dreference.doc=true").isEqualTo(expected);
    }

    @Test
    void everyPropertyInTheDocumentationExists() throws IOException {
        Set<String> known = properties().stream().map(property -> (String) property.get("name")).collect(Collectors.toSet());
        Set<String> documented = new TreeSet<>();
        List<Path> pages = new ArrayList<>();
        try (Stream<Path> files = Files.list(DOCS)) {
            files.filter(file -> file.toString().endsWith(".md")).forEach(pages::add);
        }
        pages.add(Path.of("..", "README.md"));
        pages.add(Path.of("..", "sample-app", "README.md"));
        for (Path page : pages) {
            Matcher matcher = TABLE_PROPERTY.matcher(Files.readString(page));
            while (matcher.find()) {
                documented.add(matcher.group(1) + " (" + page.getFileName() + ")");
                assertThat(known).as("%s in a table of %s", matcher.group(1), page).contains(matcher.group(1));
            }
        }
        assertThat(documented).isNotEmpty();
    }

    private static String reference() throws IOException {
        StringBuilder table = new StringBuilder("| property | default | description |\n| --- | --- | --- |\n");
        properties().stream()
            .sorted(Comparator.comparing(property -> (String) property.get("name")))
            .forEach(property -> table.append("| `")
                .append(property.get("name"))
                .append("` | ")
                .append(defaultValue(property.get("defaultValue")))
                .append(" | ")
                .append(((String) property.get("description")).replace("|", "\\|").replaceAll("\\s+", " ").trim())
                .append(" |\n"));
        return table.toString();
    }

    private static String defaultValue(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof List<?> list) {
            return list.isEmpty() ? "" : list.stream().map(item -> "`" + item + "`").collect(Collectors.joining(", "));
        }
        return "`" + value + "`";
    }

    @Test
    void everyPropertyHasADescription() throws IOException {
        List<Map<String, Object>> properties = properties();
        assertThat(properties).isNotEmpty();
        assertThat(properties).allSatisfy(property -> {
            assertThat((String) property.get("description")).as("description of %s", property.get("name"))
                .isNotBlank()
                .endsWith(".");
        });
    }

    @Test
    void defaultsAreDocumented() throws IOException {
        Map<String, Object> defaults = new java.util.HashMap<>();
        properties().forEach(property -> defaults.put((String) property.get("name"), property.get("defaultValue")));
        assertThat(defaults).containsEntry("resilient.db.pool.max-size", 10)
            .containsEntry("resilient.db.pool.connection-timeout", "2s")
            .containsEntry("resilient.db.driver.socket-timeout", "45s")
            .containsEntry("resilient.db.driver.statement-timeout", "30s")
            .containsEntry("resilient.db.driver.tcp-keep-alive", true);
    }

    private static List<Map<String, Object>> properties() throws IOException {
        URL classes = ResilientDbProperties.class.getProtectionDomain().getCodeSource().getLocation();
        try (InputStream json = new URL(classes, "META-INF/spring-configuration-metadata.json").openStream()) {
            List<Map<String, Object>> properties = JsonPath.read(json, "$.properties[*]");
            return properties.stream().filter(property -> ((String) property.get("name")).startsWith("resilient.db.")).toList();
        }
    }

}
