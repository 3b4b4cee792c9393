package dev.resilientdb.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.List;
import java.util.Map;

import com.jayway.jsonpath.JsonPath;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The IDE metadata that the configuration processor generates: every {@code resilient.db.*} key is
 * there, with a description, so that IDEs complete and explain it.
 */
class ConfigurationMetadataTests {

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
