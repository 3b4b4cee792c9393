package dev.resilientdb.autoconfigure;

import java.util.stream.Collectors;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Explains unknown properties under {@code resilient.db}: each name, where it was set, and the
 * nearest valid property.
 */
class UnknownResilientDbPropertiesFailureAnalyzer extends AbstractFailureAnalyzer<UnknownResilientDbPropertiesException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, UnknownResilientDbPropertiesException cause) {
        String description = cause.getProperties().stream()
            .map(property -> "  " + property.describe())
            .collect(Collectors.joining("\n", "Unknown resilient-db properties (resilient-db binds none of them):\n", ""));
        String fixes = cause.getProperties().stream()
            .map(property -> "  " + property.name() + ((property.nearest() != null) ? " -> " + property.nearest() : ": remove it"))
            .collect(Collectors.joining("\n", "Rename or remove them:\n", "\n"));
        return new FailureAnalysis(description, fixes + "Or set resilient.db.unknown-keys=warn to start with one "
                + "warning per unknown property instead.", cause);
    }

}
