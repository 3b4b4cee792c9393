package dev.resilientdb.sample;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard in {@code deploy/grafana/} parses, and every metric and label it queries is
 * one the sample exports at {@code /actuator/prometheus} after a little traffic, so no panel of it
 * stays empty because of a misspelt or renamed meter.
 */
@AutoConfigureMetrics
class GrafanaDashboardTests extends SampleHttpTestSupport {

    static final Path DASHBOARD = Path.of("deploy", "grafana", "resilient-db-dashboard.json");

    private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "and", "or", "unless", "offset");

    /** Labels Prometheus adds when it scrapes, which the application does not export itself. */
    private static final Set<String> SCRAPE_LABELS = Set.of("job", "instance");

    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

    @Test
    void dashboardParsesAndHasPanelsForPoolRetriesBreakerAndHealth() throws IOException {
        JsonNode dashboard = json.readTree(DASHBOARD.toFile());
        assertThat(dashboard.path("uid").asString()).isNotBlank();
        List<String> titles = new ArrayList<>();
        dashboard.path("panels").forEach((panel) -> titles.add(panel.path("title").asString()));
        assertThat(titles).contains("Pool utilisation", "Connections: active, idle, waiting", "Connection acquire time",
                "Retries by outcome", "Circuit breaker state", "db health check latency");
        Set<String> metrics = metricNames(dashboard);
        assertThat(metrics).contains("resilientdb_pool_utilization", "hikaricp_connections_active",
                "hikaricp_connections_idle", "hikaricp_connections_pending", "hikaricp_connections_acquire_seconds_sum",
                "resilientdb_retry_attempts_total", "resilientdb_retry_successes_total",
                "resilientdb_retry_exhausted_total", "resilientdb_retry_refused_total",
                "resilientdb_commit_unknown_total", "resilientdb_circuitbreaker_state",
                "resilientdb_health_check_seconds_count");
    }

    @Test
    void everyMetricAndLabelTheDashboardQueriesIsExportedByTheSample() throws IOException {
        assertThat(postJob(jobJson(newAccount(), "dashboard")).status()).isEqualTo(201);
        assertThat(management("/actuator/health/db").status()).isEqualTo(200);
        Response scrape = management("/actuator/prometheus");
        assertThat(scrape.status()).isEqualTo(200);
        Set<String> exportedMetrics = new TreeSet<>();
        Set<String> exportedLabels = new TreeSet<>();
        for (String line : scrape.body().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher name = IDENTIFIER.matcher(line);
            if (name.lookingAt()) {
                exportedMetrics.add(name.group());
            }
            Matcher label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"").matcher(line);
            while (label.find()) {
                exportedLabels.add(label.group(1));
            }
        }
        JsonNode dashboard = json.readTree(DASHBOARD.toFile());
        assertThat(exportedMetrics).containsAll(metricNames(dashboard));
        Set<String> labels = labelNames(dashboard);
        labels.removeAll(SCRAPE_LABELS);
        assertThat(labels).contains("pool", "sqlstate_class", "state", "outcome");
        assertThat(exportedLabels).containsAll(labels);
    }

    /** Metric names in every panel's PromQL and in the template variables' queries. */
    static Set<String> metricNames(JsonNode dashboard) {
        Set<String> names = new TreeSet<>();
        for (String expression : expressions(dashboard)) {
            String stripped = expression.replaceAll("\"[^\"]*\"", "")
                .replaceAll("\\{[^}]*}", "")
                .replaceAll("\\[[^]]*]", "")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", "");
            if (stripped.startsWith("label_values(")) {
                // label_values(metric, label): only the first argument is a metric
                stripped = stripped.substring("label_values(".length(), stripped.indexOf(','));
            }
            Matcher identifier = IDENTIFIER.matcher(stripped);
            while (identifier.find()) {
                String word = identifier.group();
                boolean isFunction = stripped.substring(identifier.end()).matches("(?s)\\s*\\(.*");
                if (!isFunction && !PROMQL_WORDS.contains(word) && !word.startsWith("$")
                        && stripped.charAt(Math.max(0, identifier.start() - 1)) != '$') {
                    names.add(word);
                }
            }
        }
        return names;
    }

    /** Label names in matchers, in {@code by (...)} clauses and in the panels' legends ({@code {{pool}}}). */
    static Set<String> labelNames(JsonNode dashboard) {
        Set<String> names = new TreeSet<>();
        dashboard.path("panels").forEach((panel) -> panel.path("targets").forEach((target) -> {
            Matcher legend = Pattern.compile("\\{\\{\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*}}").matcher(target.path("legendFormat").asString());
            while (legend.find()) {
                names.add(legend.group(1));
            }
        }));
        for (String expression : expressions(dashboard)) {
            Matcher matcher = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*=~?\\s*\"").matcher(expression);
            while (matcher.find()) {
                names.add(matcher.group(1));
            }
            Matcher by = Pattern.compile("\\bby\\s*\\(([^)]*)\\)").matcher(expression);
            while (by.find()) {
                for (String label : by.group(1).split(",")) {
                    names.add(label.trim());
                }
            }
        }
        return names;
    }

    private static List<String> expressions(JsonNode dashboard) {
        List<String> expressions = new ArrayList<>();
        dashboard.path("panels").forEach((panel) -> panel.path("targets")
            .forEach((target) -> expressions.add(target.path("expr").asString())));
        dashboard.path("templating").path("list").forEach((variable) -> {
            String query = variable.path("query").path("query").asString("");
            if (query.startsWith("label_values(")) {
                expressions.add(query);
            }
        });
        expressions.removeIf(String::isBlank);
        return expressions;
    }

    private Response management(String path) {
        return send(java.net.http.HttpRequest
            .newBuilder(java.net.URI.create("http://localhost:" + this.managementPort + path))
            .build());
    }

}
