package dev.resilientdb.retry;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;

import jakarta.persistence.EntityManagerFactory;
import jakarta.persistence.metamodel.Attribute;
import jakarta.persistence.metamodel.EntityType;
import org.jspecify.annotations.Nullable;

import org.springframework.orm.jpa.EntityManagerHolder;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.ClassUtils;
import org.springframework.util.ConcurrentReferenceHashMap;
import org.springframework.util.ReflectionUtils;

/**
 * The JPA entities among a call's arguments, as the caller passed them. The retry copies the
 * argument array, not the objects, so without this a retried attempt would start from what the
 * failed one left in them: a change applied again on top of itself when the entity is saved.
 * <p>
 * Before the first attempt the basic attributes (id and version included) of each entity argument
 * are copied; before each retry they are put back, so the next attempt starts from the caller's
 * state. Where that cannot be proved correct the retry is refused instead
 * ({@link #whyNotRetryable()}): an entity managed by an {@code EntityManager} bound to the thread
 * (open-in-view) is detached by the rollback, and a change the method leaves to dirty checking would
 * then be lost; an entity with associations, collections, embedded values, a composite id or
 * property access, or a proxy, is not copied. Arguments that are not entities are left as they are.
 * Used by one thread, the caller's.
 */
final class CallerEntities {

    private static final boolean JPA_PRESENT = ClassUtils.isPresent("jakarta.persistence.EntityManagerFactory",
            CallerEntities.class.getClassLoader())
            && ClassUtils.isPresent("org.springframework.orm.jpa.EntityManagerHolder", CallerEntities.class.getClassLoader());

    private static final CallerEntities NONE = new CallerEntities(List.of(), null);

    private final List<Snapshot> snapshots;

    @Nullable
    private final String notRetryable;

    private CallerEntities(List<Snapshot> snapshots, @Nullable String notRetryable) {
        this.snapshots = snapshots;
        this.notRetryable = notRetryable;
    }

    /** No entity arguments. */
    static CallerEntities none() {
        return NONE;
    }

    /**
     * The entity arguments of a call whose transactions the transaction manager runs; none unless it
     * is a JPA transaction manager and an argument is one of its entities.
     */
    static CallerEntities of(PlatformTransactionManager transactionManager, Object[] arguments) {
        if (!JPA_PRESENT || arguments.length == 0 || !(transactionManager instanceof ResourceTransactionManager resources)) {
            return NONE;
        }
        return Jpa.capture(resources.getResourceFactory(), arguments);
    }

    /**
     * Why the unit of work must not run again with these arguments, for the exception and the log
     * line; {@code null} when it may.
     */
    @Nullable
    String whyNotRetryable() {
        return this.notRetryable;
    }

    /** Puts every entity argument back as the caller passed it. */
    void restore() {
        for (Snapshot snapshot : this.snapshots) {
            snapshot.restore();
        }
    }

    /** The basic attributes of one entity argument at call time. */
    private record Snapshot(Object entity, List<Field> fields, Object[] values) {

        static Snapshot of(Object entity, List<Field> fields) {
            Object[] values = new Object[fields.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = copy(ReflectionUtils.getField(fields.get(i), entity));
            }
            return new Snapshot(entity, fields, values);
        }

        void restore() {
            for (int i = 0; i < this.values.length; i++) {
                ReflectionUtils.setField(this.fields.get(i), this.entity, copy(this.values[i]));
            }
        }

        /** The mutable basic types JPA maps, copied so that a change made in place is undone too. */
        private static Object copy(Object value) {
            if (value instanceof byte[] bytes) {
                return bytes.clone();
            }
            if (value instanceof char[] chars) {
                return chars.clone();
            }
            if (value instanceof Date date) {
                return date.clone();
            }
            return value;
        }

    }

    private static final class Jpa {

        /** Per factory and class: the fields to copy, or why the class cannot be copied; absent: not an entity. */
        private static final Map<EntityManagerFactory, Map<Class<?>, Shape>> shapes = new ConcurrentReferenceHashMap<>();

        static CallerEntities capture(Object resourceFactory, Object[] arguments) {
            if (!(resourceFactory instanceof EntityManagerFactory factory)) {
                return NONE;
            }
            List<Snapshot> snapshots = null;
            String notRetryable = null;
            for (int i = 0; i < arguments.length; i++) {
                Object argument = arguments[i];
                if (argument == null) {
                    continue;
                }
                Shape shape = shapeOf(factory, argument.getClass());
                if (shape == Shape.NOT_AN_ENTITY) {
                    continue;
                }
                String why = (shape.unsupported != null) ? shape.unsupported
                        : managedByBoundEntityManager(factory, argument)
                                ? "it is managed by the EntityManager bound to the thread (open-in-view), which the "
                                        + "rollback cleared, detaching it with the failed attempt's changes"
                                : null;
                if (why != null) {
                    notRetryable = (notRetryable != null) ? notRetryable
                            : "argument " + i + " (" + argument.getClass().getName() + ") is an entity and " + why;
                    continue;
                }
                if (snapshots == null) {
                    snapshots = new ArrayList<>(2);
                }
                snapshots.add(Snapshot.of(argument, shape.fields));
            }
            return (snapshots == null && notRetryable == null) ? NONE
                    : new CallerEntities((snapshots != null) ? snapshots : List.of(), notRetryable);
        }

        private static boolean managedByBoundEntityManager(EntityManagerFactory factory, Object entity) {
            if (TransactionSynchronizationManager.getResource(factory) instanceof EntityManagerHolder holder) {
                try {
                    return holder.getEntityManager().contains(entity);
                }
                catch (IllegalStateException | IllegalArgumentException ex) {
                    return true;
                }
            }
            return false;
        }

        private static Shape shapeOf(EntityManagerFactory factory, Class<?> type) {
            return shapes.computeIfAbsent(factory, key -> new ConcurrentReferenceHashMap<>())
                .computeIfAbsent(type, key -> Shape.of(factory, key));
        }

    }

    /** What of an entity class can be copied and put back. */
    private static final class Shape {

        static final Shape NOT_AN_ENTITY = new Shape(List.of(), null);

        private final List<Field> fields;

        @Nullable
        private final String unsupported;

        private Shape(List<Field> fields, @Nullable String unsupported) {
            this.fields = fields;
            this.unsupported = unsupported;
        }

        static Shape of(EntityManagerFactory factory, Class<?> type) {
            EntityType<?> entityType = entityType(factory, type);
            if (entityType == null) {
                for (Class<?> superclass = type.getSuperclass(); superclass != null; superclass = superclass.getSuperclass()) {
                    if (entityType(factory, superclass) != null) {
                        return unsupported("it is a proxy or subclass of an entity class that the persistence unit "
                                + "does not map itself (a lazy-loading proxy?)");
                    }
                }
                return NOT_AN_ENTITY;
            }
            if (!entityType.hasSingleIdAttribute()) {
                return unsupported("it has a composite id, which is not put back before a retry");
            }
            List<Field> fields = new ArrayList<>();
            for (Attribute<?, ?> attribute : entityType.getAttributes()) {
                if (attribute.isCollection() || attribute.getPersistentAttributeType() != Attribute.PersistentAttributeType.BASIC) {
                    return unsupported("its attribute '" + attribute.getName() + "' is "
                            + attribute.getPersistentAttributeType() + ", which is not put back before a retry");
                }
                if (!(attribute.getJavaMember() instanceof Field field)) {
                    return unsupported("its attribute '" + attribute.getName()
                            + "' uses property access, which is not put back before a retry");
                }
                ReflectionUtils.makeAccessible(field);
                fields.add(field);
            }
            return new Shape(List.copyOf(fields), null);
        }

        @Nullable
        private static EntityType<?> entityType(EntityManagerFactory factory, Class<?> type) {
            for (EntityType<?> entityType : factory.getMetamodel().getEntities()) {
                if (entityType.getJavaType() == type) {
                    return entityType;
                }
            }
            return null;
        }

        private static Shape unsupported(String why) {
            return new Shape(List.of(), why);
        }

    }

}
