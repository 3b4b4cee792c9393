package dev.resilientdb.autoconfigure;

import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * A property under {@code resilient.db} that the starter does not bind.
 *
 * @param name the name as it was written ({@code resilient.db.pool.max-szie}, or the environment
 * variable {@code RESILIENT_DB_POOL_MAX_SZIE})
 * @param origin where it was set ({@code class path resource [application.yml] - 3:5}), or {@code null}
 * @param nearest the nearest valid property or group, or {@code null} when none is close
 * @param choices the valid names in the group where the name went astray, for when none is close
 */
record UnknownResilientDbProperty(String name, @Nullable String origin, @Nullable String nearest, List<String> choices) {

    /** One line: the name, where it came from, and what it may have meant. */
    String describe() {
        return this.name + ((this.origin != null) ? " (from " + this.origin + ")" : "") + ": " + hint();
    }

    String hint() {
        if (this.nearest != null) {
            return "did you mean " + this.nearest + "?";
        }
        return "no similar property; valid here: " + String.join(", ", this.choices);
    }

}
