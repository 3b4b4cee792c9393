package dev.resilientdb.sample;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import org.springframework.boot.convert.DurationStyle;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample's {@code application.yml} lists only what it changes: every {@code resilient.db.*}
 * property in it is one the starter has (from the configuration metadata the starter ships), set to
 * a value other than its default, and each has a comment.
 */
class ApplicationYamlTests {

    private static final Path APPLICATION_YAML = Path.of("src/main/resources/application.yml");

    @Test
    void everyResilientDbPropertyIsOneTheStarterHas() throws IOException {
        assertThat(yamlValues()).isNotEmpty();
        assertThat(metadataDefaults().keySet()).containsAll(yamlValues().keySet());
    }

    @Test
    void everyResilientDbPropertyChangesItsDefault() throws IOException {
        Map<String, String> defaults = metadataDefaults();
        yamlValues().forEach((key, value) -> assertThat(sameValue(value, defaults.get(key)))
            .as(key + ": " + value + " is the default; leave it out").isFalse());
    }

    @Test
    void everyResilientDbLeafHasACommentAboveItsGroupOrItself() throws IOException {
        List<String> lines = Files.readAllLines(APPLICATION_YAML);
        int start = lines.indexOf("resilient:");
        assertThat(start).isPositive();
        for (int i = start + 2; i < lines.size(); i++) {
            String line = lines.get(i);
            boolean leaf = line.matches("\\s+[a-z-]+: \\S.*");
            if (!leaf) {
                continue;
            }
            int above = i - 1;
            while (lines.get(above).matches("\\s+[a-z-]+: \\S.*") && !lines.get(above).trim().startsWith("#")) {
                above--;
            }
            assertThat(lines.get(above).trim()).as("comment for: " + line.trim()).startsWith("#");
        }
    }

    private static Map<String, String> yamlValues() throws IOException {
        Map<String, Object> yaml = new Yaml().load(Files.readString(APPLICATION_YAML));
        Map<String, String> values = new TreeMap<>();
        flatten("", yaml, values);
        values.keySet().removeIf((key) -> !key.startsWith("resilient.db."));
        return values;
    }

    /** Every property of the starter, with its default value as the metadata gives it ({@code null}: none). */
    private static Map<String, String> metadataDefaults() throws IOException {
        Map<String, String> defaults = new TreeMap<>();
        ObjectMapper json = new ObjectMapper();
        for (URL resource : Collections.list(
                ApplicationYamlTests.class.getClassLoader().getResources("META-INF/spring-configuration-metadata.json"))) {
            try (InputStream in = resource.openStream()) {
                for (JsonNode property : json.readTree(in).path("properties")) {
                    String name = property.get("name").asString();
                    if (name.startsWith("resilient.db.")) {
                        JsonNode value = property.get("defaultValue");
                        defaults.put(name, (value != null && !value.isNull()) ? value.asString() : null);
                    }
                }
            }
        }
        assertThat(defaults).as("configuration metadata of the starter").isNotEmpty();
        return defaults;
    }

    /** Whether a value from the file is the default: as text, as a number, or as a duration. */
    private static boolean sameValue(String value, String defaultValue) {
        if (defaultValue == null) {
            return false;
        }
        if (value.equalsIgnoreCase(defaultValue)) {
            return true;
        }
        try {
            return new BigDecimal(value).compareTo(new BigDecimal(defaultValue)) == 0;
        }
        catch (NumberFormatException notNumbers) {
            // Not both numbers: durations, perhaps.
        }
        try {
            return DurationStyle.detectAndParse(value).equals(DurationStyle.detectAndParse(defaultValue));
        }
        catch (IllegalArgumentException notDurations) {
            return false;
        }
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> map, Map<String, String> values) {
        map.forEach((key, value) -> {
            if (value instanceof Map<?, ?> nested) {
                flatten(prefix + key + ".", (Map<String, Object>) nested, values);
            }
            else {
                values.put(prefix + key, String.valueOf(value));
            }
        });
    }

}
