package dev.resilientdb.autoconfigure;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Thrown at start-up when properties under {@code resilient.db} name nothing the starter binds,
 * which would otherwise be ignored without a word.
 */
class UnknownResilientDbPropertiesException extends IllegalStateException {

    private final List<UnknownResilientDbProperty> properties;

    UnknownResilientDbPropertiesException(List<UnknownResilientDbProperty> properties) {
        super("Unknown resilient-db properties: " + properties.stream()
            .map(UnknownResilientDbProperty::describe)
            .collect(Collectors.joining("; ")));
        this.properties = List.copyOf(properties);
    }

    List<UnknownResilientDbProperty> getProperties() {
        return this.properties;
    }

}
