package dev.resilientdb.sample;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample's {@code application.yml} lists every {@code resilient.db.*} property the starter has
 * (from the configuration metadata the starter ships), each with a comment, and no property the
 * starter does not know.
 */
class ApplicationYamlTests {

    private static final Path APPLICATION_YAML = Path.of("src/main/resources/application.yml");

    @Test
    void everyResilientDbPropertyIsListedAndNoUnknownOne() throws IOException {
        assertThat(yamlKeys()).isEqualTo(metadataKeys());
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

    private static Set<String> yamlKeys() throws IOException {
        Map<String, Object> yaml = new Yaml().load(Files.readString(APPLICATION_YAML));
        Set<String> keys = new TreeSet<>();
        flatten("", yaml, keys);
        keys.removeIf((key) -> !key.startsWith("resilient.db."));
        return keys;
    }

    private static Set<String> metadataKeys() throws IOException {
        Set<String> keys = new TreeSet<>();
        ObjectMapper json = new ObjectMapper();
        for (URL resource : Collections.list(
                ApplicationYamlTests.class.getClassLoader().getResources("META-INF/spring-configuration-metadata.json"))) {
            try (InputStream in = resource.openStream()) {
                for (JsonNode property : json.readTree(in).path("properties")) {
                    String name = property.get("name").asString();
                    if (name.startsWith("resilient.db.")) {
                        keys.add(name);
                    }
                }
            }
        }
        assertThat(keys).as("configuration metadata of the starter").isNotEmpty();
        return keys;
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> map, Set<String> keys) {
        map.forEach((key, value) -> {
            if (value instanceof Map<?, ?> nested) {
                flatten(prefix + key + ".", (Map<String, Object>) nested, keys);
            }
            else {
                keys.add(prefix + key);
            }
        });
    }

}
