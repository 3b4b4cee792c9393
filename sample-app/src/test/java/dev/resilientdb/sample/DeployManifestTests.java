package dev.resilientdb.sample;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import org.springframework.boot.convert.DurationStyle;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kubernetes manifests in {@code deploy/} and the Dockerfile: valid YAML, the kinds a deployment
 * needs, probes on the actuator endpoints, a grace period that covers preStop plus the shutdown
 * bound, and credentials only in the Secret.
 */
class DeployManifestTests {

    private static final Path DEPLOY = Path.of("deploy");

    @Test
    void everyManifestIsValidYamlWithKindAndName() throws IOException {
        List<Map<String, Object>> documents = manifests();
        assertThat(documents).isNotEmpty();
        for (Map<String, Object> document : documents) {
            assertThat(document).containsKeys("apiVersion", "kind", "metadata");
            assertThat(map(document, "metadata")).containsKey("name");
        }
        assertThat(documents).extracting((document) -> document.get("kind"))
            .containsExactlyInAnyOrder("ConfigMap", "Deployment", "Secret", "Service");
    }

    @Test
    void probesUseActuatorHealthGroupsWithShortTimeouts() throws IOException {
        Map<String, Object> container = container();
        Map<String, Object> startup = map(container, "startupProbe");
        Map<String, Object> readiness = map(container, "readinessProbe");
        Map<String, Object> liveness = map(container, "livenessProbe");
        assertThat(map(startup, "httpGet").get("path")).isEqualTo("/actuator/health/liveness");
        assertThat(map(readiness, "httpGet").get("path")).isEqualTo("/actuator/health/readiness");
        assertThat(map(liveness, "httpGet").get("path")).isEqualTo("/actuator/health/liveness");
        for (Map<String, Object> probe : List.of(startup, readiness, liveness)) {
            assertThat(probe.get("timeoutSeconds")).isEqualTo(1);
            assertThat(map(probe, "httpGet").get("port")).isEqualTo("management");
        }
        int startupBudget = (int) startup.get("periodSeconds") * (int) startup.get("failureThreshold");
        assertThat(startupBudget).as("seconds the application gets to start").isGreaterThanOrEqualTo(60);
        List<Map<String, Object>> ports = list(container, "ports");
        assertThat(ports).anySatisfy((port) -> assertThat(port).containsEntry("name", "http")
            .containsEntry("containerPort", 8080));
        Map<String, Object> application = packagedApplicationYaml();
        assertThat(ports).anySatisfy((port) -> assertThat(port).containsEntry("name", "management")
            .containsEntry("containerPort", map(map(application, "management"), "server").get("port")));
    }

    @Test
    void gracePeriodCoversPreStopAndShutdownBound() throws IOException {
        Map<String, Object> podSpec = podSpec();
        List<String> preStop = list(map(map(map(container(), "lifecycle"), "preStop"), "exec"), "command");
        int preStopSeconds = Integer.parseInt(preStop.get(preStop.size() - 1).replaceAll("\\D", ""));
        Map<String, Object> application = packagedApplicationYaml();
        Duration bound = DurationStyle.detectAndParse(
                (String) map(map(application, "spring"), "lifecycle").get("timeout-per-shutdown-phase"));
        Duration drain = DurationStyle.detectAndParse(
                (String) map(map(map(application, "sample"), "shutdown"), "drain").get("timeout"));
        int grace = (int) podSpec.get("terminationGracePeriodSeconds");
        assertThat(preStopSeconds).isPositive();
        assertThat(bound).isEqualTo(Duration.ofSeconds(20));
        assertThat(grace).isGreaterThan(preStopSeconds + (int) drain.toSeconds() + (int) bound.toSeconds());
        assertThat(map(packagedApplicationYaml(), "server").get("shutdown")).isEqualTo("graceful");
    }

    @Test
    void credentialsComeFromTheSecretAndNeverFromTheConfigMap() throws IOException {
        Map<String, Object> secret = manifest("Secret");
        Map<String, Object> secretData = map(secret, "stringData");
        assertThat(secretData).containsKeys("SPRING_DATASOURCE_URL", "SPRING_DATASOURCE_USERNAME",
                "SPRING_DATASOURCE_PASSWORD");
        String secretName = (String) map(secret, "metadata").get("name");
        List<Map<String, Object>> envFrom = list(container(), "envFrom");
        assertThat(envFrom).anySatisfy((source) -> assertThat(map(source, "secretRef")).containsEntry("name", secretName));

        String configYaml = (String) map(manifest("ConfigMap"), "data").get("application.yml");
        Set<String> configKeys = flatKeys("", new Yaml().load(configYaml));
        assertThat(configKeys).noneMatch((key) -> key.contains("password") || key.startsWith("spring.datasource"));
        assertThat(configYaml).doesNotContain((String) secretData.get("SPRING_DATASOURCE_PASSWORD"));
    }

    @Test
    void configMapMountsWhereSpringBootReadsItAndListsTheSameKeysAsThePackagedFile() throws IOException {
        Map<String, Object> configMap = manifest("ConfigMap");
        String name = (String) map(configMap, "metadata").get("name");
        List<Map<String, Object>> volumes = list(podSpec(), "volumes");
        Map<String, Object> volume = volumes.stream()
            .filter((candidate) -> candidate.containsKey("configMap") && name.equals(map(candidate, "configMap").get("name")))
            .findFirst().orElseThrow();
        List<Map<String, Object>> mounts = list(container(), "volumeMounts");
        assertThat(mounts).anySatisfy((mount) -> assertThat(mount).containsEntry("name", volume.get("name"))
            .containsEntry("mountPath", "/application/config"));

        Map<String, Object> clusterYaml = new Yaml().load((String) map(configMap, "data").get("application.yml"));
        Set<String> clusterKeys = flatKeys("", clusterYaml);
        assertThat(clusterKeys).isEqualTo(flatKeys("", packagedApplicationYaml()));
        assertThat(clusterKeys).anyMatch((key) -> key.startsWith("resilient.db.pool."))
            .anyMatch((key) -> key.startsWith("resilient.db.retry."));
    }

    @Test
    void serviceSelectsTheDeploymentsPods() throws IOException {
        Map<String, Object> selector = map(map(manifest("Service"), "spec"), "selector");
        Map<String, Object> labels = map(map(map(map(manifest("Deployment"), "spec"), "template"), "metadata"), "labels");
        assertThat(labels).containsAllEntriesOf(selector);
        List<Map<String, Object>> ports = list(map(manifest("Service"), "spec"), "ports");
        assertThat(ports).extracting((port) -> port.get("targetPort")).containsExactly("http");
    }

    @Test
    void dockerfileRunsTheLayeredJarAsPidOne() throws IOException {
        String dockerfile = Files.readString(Path.of("Dockerfile"));
        assertThat(dockerfile).contains("java -Djarmode=tools -jar application.jar extract --layers --launcher")
            .contains("COPY --from=builder /builder/extracted/dependencies/ ./")
            .contains("COPY --from=builder /builder/extracted/application/ ./")
            .contains("WORKDIR /application")
            .containsPattern("(?m)^ENTRYPOINT \\[\"java\".*\"org.springframework.boot.loader.launch.JarLauncher\"\\]$");
    }

    private static Map<String, Object> container() throws IOException {
        List<Map<String, Object>> containers = list(podSpec(), "containers");
        assertThat(containers).hasSize(1);
        return containers.get(0);
    }

    private static Map<String, Object> podSpec() throws IOException {
        return map(map(map(manifest("Deployment"), "spec"), "template"), "spec");
    }

    private static Map<String, Object> manifest(String kind) throws IOException {
        List<Map<String, Object>> matching = manifests().stream().filter((document) -> kind.equals(document.get("kind")))
            .toList();
        assertThat(matching).as(kind).hasSize(1);
        return matching.get(0);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> manifests() throws IOException {
        List<Map<String, Object>> documents = new ArrayList<>();
        try (Stream<Path> files = Files.list(DEPLOY)) {
            for (Path file : files.filter((path) -> path.toString().endsWith(".yaml")).sorted().toList()) {
                for (Object document : new Yaml().loadAll(Files.readString(file))) {
                    if (document != null) {
                        documents.add((Map<String, Object>) document);
                    }
                }
            }
        }
        return documents;
    }

    private static Map<String, Object> packagedApplicationYaml() throws IOException {
        return new Yaml().load(Files.readString(Path.of("src/main/resources/application.yml")));
    }

    @SuppressWarnings("unchecked")
    private static Set<String> flatKeys(String prefix, Map<String, Object> map) {
        Set<String> keys = new TreeSet<>();
        map.forEach((key, value) -> {
            String name = prefix + key;
            if (value instanceof Map<?, ?> nested) {
                keys.addAll(flatKeys(name + ".", (Map<String, Object>) nested));
            }
            else {
                keys.add(name);
            }
        });
        return keys;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        assertThat(parent).containsKey(key);
        return (Map<String, Object>) parent.get(key);
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Map<String, Object> parent, String key) {
        assertThat(parent).containsKey(key);
        return (List<T>) parent.get(key);
    }

}
