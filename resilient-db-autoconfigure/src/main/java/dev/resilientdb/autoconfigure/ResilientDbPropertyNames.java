package dev.resilientdb.autoconfigure;

import java.beans.PropertyDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.BeanUtils;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;

/**
 * The property names {@link ResilientDbProperties} binds, read from the class itself (its JavaBean
 * properties and nested groups), so that they cannot drift from what the binder accepts. Answers
 * whether a name found in the environment is one of them, in any of Spring Boot's relaxed forms
 * ({@code max-size}, {@code maxSize}, {@code RESILIENT_DB_POOL_MAX_SIZE}, list indexes), and which
 * valid name is nearest to one that is not.
 */
final class ResilientDbPropertyNames {

    private static final ConfigurationPropertyName ROOT = ConfigurationPropertyName.of(ResilientDbProperties.PREFIX);

    private static final Group PROPERTIES = new Group(ResilientDbProperties.PREFIX, ResilientDbProperties.class);

    private ResilientDbPropertyNames() {
    }

    /** Whether the name is under {@code resilient.db}. */
    static boolean isInNamespace(ConfigurationPropertyName name) {
        return ROOT.isAncestorOf(name);
    }

    /** Whether the binder would bind the name (under {@code resilient.db}) to a property. */
    static boolean isKnown(ConfigurationPropertyName name) {
        return match(PROPERTIES, elements(name), ROOT.getNumberOfElements()) == null;
    }

    /**
     * The valid name nearest to an unknown one: the group it meant ({@code resilient.db.retry.*}) or
     * the property ({@code resilient.db.pool.max-size}); {@code null} when none is close.
     */
    static @Nullable String nearest(ConfigurationPropertyName name) {
        Mismatch mismatch = match(PROPERTIES, elements(name), ROOT.getNumberOfElements());
        if (mismatch == null) {
            return null;
        }
        String written = String.join("", mismatch.rest());
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Map.Entry<String, String> candidate : mismatch.group().descendants().entrySet()) {
            // A property written in full with something below it (max-size.value) meant that property.
            boolean property = !candidate.getValue().endsWith(".*");
            int distance = (property && written.startsWith(candidate.getKey())) ? 0 : distance(written, candidate.getKey());
            if (distance < bestDistance) {
                best = candidate.getValue();
                bestDistance = distance;
            }
        }
        return (best != null && bestDistance <= Math.max(2, written.length() / 3)) ? best : null;
    }

    /** The valid names directly under the group where an unknown name went astray, for the message. */
    static List<String> choicesNear(ConfigurationPropertyName name) {
        Mismatch mismatch = match(PROPERTIES, elements(name), ROOT.getNumberOfElements());
        return (mismatch != null) ? mismatch.group().children.values().stream().map(Node::displayName).toList() : List.of();
    }

    private static List<String> elements(ConfigurationPropertyName name) {
        List<String> elements = new ArrayList<>();
        for (int i = 0; i < name.getNumberOfElements(); i++) {
            // An index in brackets stays recognisable; the uniform form of a name element has no separators.
            elements.add(name.isNumericIndex(i) ? "[" + name.getElement(i, Form.UNIFORM) + "]"
                    : name.getElement(i, Form.UNIFORM).toLowerCase(Locale.ROOT));
        }
        return elements;
    }

    /**
     * Walks the elements from {@code index} down the groups; {@code null} when they name a property.
     * An element may match a child on its own ({@code max-size}) or joined with the next ones, as the
     * environment variable {@code ..._MAX_SIZE} gives {@code max} and {@code size}.
     */
    private static @Nullable Mismatch match(Group group, List<String> elements, int index) {
        if (index == elements.size()) {
            return new Mismatch(group, List.of());
        }
        Mismatch deeper = null;
        StringBuilder joined = new StringBuilder();
        for (int end = index; end < elements.size(); end++) {
            joined.append(elements.get(end));
            Node child = group.children.get(joined.toString());
            if (child instanceof Group nested) {
                Mismatch mismatch = match(nested, elements, end + 1);
                if (mismatch == null) {
                    return null;
                }
                deeper = (deeper != null) ? deeper : mismatch;
            }
            else if (child instanceof Leaf leaf && leaf.accepts(elements.subList(end + 1, elements.size()))) {
                return null;
            }
        }
        // Went astray inside a group it named correctly (pool.max-szie): suggest from within that group.
        return (deeper != null) ? deeper : new Mismatch(group, elements.subList(index, elements.size()).stream()
            .filter(element -> !element.startsWith("["))
            .toList());
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = (a.charAt(i - 1) == b.charAt(j - 1)) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    private static String dashed(String camelCase) {
        StringBuilder dashed = new StringBuilder();
        for (char ch : camelCase.toCharArray()) {
            if (Character.isUpperCase(ch)) {
                dashed.append('-').append(Character.toLowerCase(ch));
            }
            else {
                dashed.append(ch);
            }
        }
        return dashed.toString();
    }

    private static String uniform(String dashed) {
        return dashed.replace("-", "");
    }

    private record Mismatch(Group group, List<String> rest) {
    }

    private interface Node {

        /** The full name as a user writes it in {@code application.yml}. */
        String displayName();

    }

    /** A property: a value, a list (indexed elements allowed) or a map (any keys below it). */
    private record Leaf(String name, Class<?> type) implements Node {

        boolean accepts(List<String> rest) {
            if (rest.isEmpty() || Map.class.isAssignableFrom(this.type)) {
                return true;
            }
            return (Collection.class.isAssignableFrom(this.type) || this.type.isArray())
                    && rest.stream().allMatch(element -> element.startsWith("["));
        }

        @Override
        public String displayName() {
            return this.name;
        }

    }

    /** A nested group of properties ({@code pool}, {@code retry}, {@code retry.budget}, ...). */
    private static final class Group implements Node {

        private final String name;

        /** Children by the uniform form of their name ({@code maxsize}), in declaration order. */
        private final Map<String, Node> children = new LinkedHashMap<>();

        Group(String name, Class<?> type) {
            this.name = name;
            for (PropertyDescriptor property : BeanUtils.getPropertyDescriptors(type)) {
                Class<?> propertyType = property.getPropertyType();
                if (property.getReadMethod() == null || propertyType == null || "class".equals(property.getName())) {
                    continue;
                }
                String childName = name + "." + dashed(property.getName());
                if (propertyType.getDeclaringClass() == ResilientDbProperties.class && !propertyType.isEnum()) {
                    this.children.put(uniform(dashed(property.getName())), new Group(childName, propertyType));
                }
                else if (property.getWriteMethod() != null) {
                    this.children.put(uniform(dashed(property.getName())), new Leaf(childName, propertyType));
                }
            }
        }

        /** Every group and property below this one, by its path from here in uniform form ({@code budgetratio}). */
        Map<String, String> descendants() {
            Map<String, String> descendants = new LinkedHashMap<>();
            this.children.forEach((key, child) -> {
                if (child instanceof Group group) {
                    descendants.put(key, group.displayName());
                    group.descendants().forEach((path, name) -> descendants.put(key + path, name));
                }
                else {
                    descendants.put(key, child.displayName());
                }
            });
            return descendants;
        }

        @Override
        public String displayName() {
            return this.name + ".*";
        }

    }

}
