package dev.resilientdb.autoconfigure;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;


/**
 * The {@code options} parameter of a pgjdbc URL ({@code ?options=-c%20search_path%3Dapp}). pgjdbc
 * reads URL parameters over its connection properties, so an {@code options} in the URL silently
 * replaces the one that carries the starter's {@code statement_timeout}; taking it out of the URL
 * lets the two be merged into one property.
 *
 * @param url the URL without its {@code options} parameter
 * @param options the decoded value of the parameter, or {@code null} when the URL has none
 */
record JdbcUrlOptions(String url, @Nullable String options) {

    private static final String NAME = "options=";

    /**
     * The value of a query parameter of a JDBC URL, as written (not decoded); with several, the last
     * one, as for pgjdbc; {@code ""} for a parameter without a value; {@code null} when it is absent.
     */
    static @Nullable String parameter(String url, String name) {
        if (url == null || url.indexOf('?') < 0) {
            return null;
        }
        String value = null;
        for (String parameter : url.substring(url.indexOf('?') + 1).split("&")) {
            int equals = parameter.indexOf('=');
            String key = (equals < 0) ? parameter : parameter.substring(0, equals);
            if (key.equals(name)) {
                value = (equals < 0) ? "" : parameter.substring(equals + 1);
            }
        }
        return value;
    }

    /** Splits the URL's {@code options} off; with several, the last one counts, as for pgjdbc. */
    static JdbcUrlOptions of(String url) {
        int query = url.indexOf('?');
        if (query < 0) {
            return new JdbcUrlOptions(url, null);
        }
        List<String> kept = new ArrayList<>();
        String options = null;
        for (String parameter : url.substring(query + 1).split("&")) {
            if (parameter.startsWith(NAME)) {
                options = URLDecoder.decode(parameter.substring(NAME.length()), StandardCharsets.UTF_8);
            }
            else if (!parameter.isEmpty()) {
                kept.add(parameter);
            }
        }
        String base = url.substring(0, query);
        return new JdbcUrlOptions(kept.isEmpty() ? base : base + "?" + String.join("&", kept), options);
    }

}
