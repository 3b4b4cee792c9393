package dev.resilientdb.autoconfigure;

import java.util.Locale;
import java.util.regex.Pattern;

import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Keeps database credentials out of the {@code env} and {@code configprops} endpoints even when the
 * application shows values ({@code management.endpoint.env.show-values=ALWAYS}), where Spring Boot
 * itself sanitises nothing. Hidden: values of keys that name a password or credentials, the JVM
 * command line and {@code SPRING_APPLICATION_JSON} (either may carry
 * {@code spring.datasource.password}), URLs that carry a password ({@code user:password@} or a
 * {@code password=} parameter), and any value that contains the configured datasource password.
 */
final class DatabaseCredentialsSanitizingFunction implements SanitizingFunction {

    private static final Pattern URL_WITH_PASSWORD = Pattern
        .compile("//[^/@\\s]*:[^/@\\s]*@|[?&;]password=", Pattern.CASE_INSENSITIVE);

    private static final Pattern SENSITIVE_KEY = Pattern
        .compile("password|credentials|^sun\\.java\\.command$|^spring[._]application[._]json$");

    /** Shorter passwords would hide half of the environment; they are still hidden under their own keys. */
    private static final int SHORTEST_PASSWORD_SEARCHED_IN_VALUES = 4;

    private static final String[] PASSWORD_PROPERTIES = { "spring.datasource.password", "spring.datasource.hikari.password" };

    private final Environment environment;

    DatabaseCredentialsSanitizingFunction(Environment environment) {
        this.environment = environment;
    }

    @Override
    public SanitizableData apply(SanitizableData data) {
        if (data.getValue() == null) {
            return data;
        }
        if (SENSITIVE_KEY.matcher(data.getKey().toLowerCase(Locale.ROOT)).find()) {
            return data.withSanitizedValue();
        }
        String value = String.valueOf(data.getValue());
        if (URL_WITH_PASSWORD.matcher(value).find() || containsConfiguredPassword(value)) {
            return data.withSanitizedValue();
        }
        return data;
    }

    private boolean containsConfiguredPassword(String value) {
        for (String property : PASSWORD_PROPERTIES) {
            String password = this.environment.getProperty(property);
            if (StringUtils.hasText(password) && password.length() >= SHORTEST_PASSWORD_SEARCHED_IN_VALUES
                    && value.contains(password)) {
                return true;
            }
        }
        return false;
    }

}
