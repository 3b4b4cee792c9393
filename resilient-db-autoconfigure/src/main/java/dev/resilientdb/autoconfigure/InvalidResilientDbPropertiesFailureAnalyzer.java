package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.origin.Origin;
import org.springframework.core.Ordered;
import org.springframework.core.ResolvableType;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;

/**
 * Explains a {@code resilient.db.*} property that failed to bind or validate: which property, the
 * value and where it came from, what is wrong, and how to fix it. Runs before Spring Boot's generic
 * bind analyzers; anything outside {@code resilient.db} is left to them.
 */
class InvalidResilientDbPropertiesFailureAnalyzer extends AbstractFailureAnalyzer<BindException> implements Ordered {

    private static final ConfigurationPropertyName ROOT = ConfigurationPropertyName.of(ResilientDbProperties.PREFIX);

    /** Heads the lines of {@code property=value} that, applied together, make the configuration valid. */
    static final String SUGGESTED_VALUES = "For example, with these values the configuration is valid:";

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    protected @Nullable FailureAnalysis analyze(Throwable rootFailure, BindException cause) {
        if (!ROOT.isAncestorOf(cause.getName()) && !ROOT.equals(cause.getName())) {
            return null;
        }
        if (cause.getCause() instanceof BindValidationException validation) {
            return analyzeValidation(validation);
        }
        return analyzeConversion(cause);
    }

    private FailureAnalysis analyzeValidation(BindValidationException validation) {
        List<String> problems = new ArrayList<>();
        List<String> fixes = new ArrayList<>();
        Map<String, String> values = new LinkedHashMap<>();
        for (ObjectError error : validation.getValidationErrors()) {
            Object[] arguments = error.getArguments();
            if (arguments != null && arguments.length > 1 && arguments[1] instanceof PropertiesValidation.SuggestedValues suggested) {
                suggested.byPropertyName().forEach(values::putIfAbsent);
            }
            if (error instanceof FieldError fieldError) {
                String property = ResilientDbProperties.PREFIX + "." + dashed(fieldError.getField());
                problems.add(String.format("  %s = %s: %s", property, valueAndOrigin(validation, property, fieldError),
                        fieldError.getDefaultMessage()));
                fixes.add(String.format("  %s: %s", property, fix(error)));
            }
            else {
                problems.add("  " + error.getDefaultMessage());
                fixes.add("  " + fix(error));
            }
        }
        String action = "Change these properties:\n" + String.join("\n", fixes);
        if (!values.isEmpty()) {
            action += values.entrySet().stream().map(value -> "  " + value.getKey() + "=" + value.getValue())
                .collect(Collectors.joining("\n", "\n" + SUGGESTED_VALUES + "\n", ""));
        }
        return new FailureAnalysis("Invalid resilient-db configuration:\n" + String.join("\n", problems), action,
                validation);
    }

    private FailureAnalysis analyzeConversion(BindException cause) {
        ConfigurationProperty property = cause.getProperty();
        String value = (property != null) ? String.valueOf(property.getValue()) : "(unknown)";
        String origin = (property != null && property.getOrigin() != null) ? " (from " + property.getOrigin() + ")" : "";
        String expected = expected(cause.getTarget().getType());
        return new FailureAnalysis(
                String.format("Invalid resilient-db configuration:%n  %s = '%s'%s cannot be read as %s.", cause.getName(),
                        value, origin, expected),
                String.format("Change %s to %s.", cause.getName(), example(cause.getTarget().getType(), expected)), cause);
    }

    /** The value as the user wrote it and where, or the default that a related setting made invalid. */
    private static String valueAndOrigin(BindValidationException validation, String property, FieldError error) {
        ConfigurationPropertyName name = ConfigurationPropertyName.of(property);
        for (ConfigurationProperty bound : validation.getValidationErrors().getBoundProperties()) {
            if (bound.getName().equals(name)) {
                Origin origin = bound.getOrigin();
                return bound.getValue() + ((origin != null) ? " (from " + origin + ")" : "");
            }
        }
        Object value = error.getRejectedValue();
        if (value instanceof Duration duration) {
            value = (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
        }
        return value + " (default)";
    }

    private static String fix(ObjectError error) {
        Object[] arguments = error.getArguments();
        if (arguments != null && arguments.length > 0 && arguments[0] instanceof String fix) {
            return fix;
        }
        return "Correct the value.";
    }

    private static String expected(ResolvableType type) {
        Class<?> target = type.resolve(Object.class);
        if (Duration.class.equals(target)) {
            return "a duration";
        }
        if (int.class.equals(target) || Integer.class.equals(target)) {
            return "a whole number";
        }
        if (double.class.equals(target) || Double.class.equals(target)) {
            return "a number";
        }
        if (boolean.class.equals(target) || Boolean.class.equals(target)) {
            return "true or false";
        }
        return "a " + target.getSimpleName();
    }

    private static String example(ResolvableType type, String expected) {
        Class<?> target = type.resolve(Object.class);
        if (Duration.class.equals(target)) {
            return "a duration with a unit, such as 500ms, 2s or 1m (or ISO-8601, such as PT2S)";
        }
        return expected;
    }

    private static String dashed(String field) {
        StringBuilder result = new StringBuilder();
        for (char ch : field.toCharArray()) {
            if (Character.isUpperCase(ch)) {
                result.append('-').append(Character.toLowerCase(ch));
            }
            else {
                result.append(ch);
            }
        }
        return result.toString();
    }

}
