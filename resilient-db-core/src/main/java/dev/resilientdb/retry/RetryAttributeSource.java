package dev.resilientdb.retry;

import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

import org.springframework.core.ReactiveAdapterRegistry;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationUtils;
import org.springframework.core.annotation.MergedAnnotation;
import org.springframework.core.annotation.MergedAnnotationSelectors;
import org.springframework.core.annotation.MergedAnnotations;
import org.springframework.core.annotation.MergedAnnotations.SearchStrategy;
import org.springframework.core.annotation.RepeatableContainers;
import org.springframework.transaction.annotation.AnnotationTransactionAttributeSource;
import org.springframework.transaction.annotation.SpringTransactionAnnotationParser;
import org.springframework.transaction.annotation.TransactionAnnotationParser;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.interceptor.TransactionAttribute;
import org.springframework.util.ReflectionUtils;

/**
 * Finds {@link RetryableTransactional} with Spring's own rules for {@code @Transactional}: the
 * method on the target class first, then its class, resolved once per method <em>and</em> target
 * class and cached. The transaction attribute it pairs with each use is the one Spring's
 * transaction advice will apply. Both the retry pointcut and the retry advice ask this source.
 * <p>
 * The first time the pointcut asks about a class, every method of it is resolved, so that a
 * misconfigured method fails start-up also where the proxy would never ask about it before its
 * first call (a JDK proxy stops at the first method that matches).
 */
final class RetryAttributeSource extends AnnotationTransactionAttributeSource {

    private final Function<String, TransactionAdvice> transactionAdvice;

    private final Map<Class<?>, Boolean> checkedClasses = new ConcurrentHashMap<>();

    /**
     * @param transactionAdvice Spring's transaction advice, asked for on first use with the method
     * that needs it; it fails when the retry advice cannot work with it
     */
    RetryAttributeSource(Function<String, TransactionAdvice> transactionAdvice) {
        super(new RetryableTransactionalParser());
        // As Spring's own transaction attribute source: protected and package-visible methods of class proxies too.
        setPublicMethodsOnly(false);
        this.transactionAdvice = transactionAdvice;
    }

    @Override
    public boolean isCandidateClass(Class<?> targetClass) {
        if (!super.isCandidateClass(targetClass)) {
            return false;
        }
        this.checkedClasses.computeIfAbsent(targetClass, type -> {
            ReflectionUtils.doWithMethods(type, method -> getTransactionAttribute(method, type),
                    RetryAttributeSource::mayBeAdvised);
            return Boolean.TRUE;
        });
        return true;
    }

    private static boolean mayBeAdvised(Method method) {
        int modifiers = method.getModifiers();
        return !Modifier.isPrivate(modifiers) && !Modifier.isStatic(modifiers) && !method.isSynthetic()
                && method.getDeclaringClass() != Object.class;
    }

    @Override
    @Nullable
    protected TransactionAttribute computeTransactionAttribute(Method method, @Nullable Class<?> targetClass) {
        TransactionAttribute retry = super.computeTransactionAttribute(method, targetClass);
        if (retry == null) {
            return null;
        }
        String use = ((targetClass != null) ? targetClass.getName() : method.getDeclaringClass().getName()) + "."
                + method.getName();
        TransactionAttribute transaction = this.transactionAdvice.apply(use)
            .attributes()
            .getTransactionAttribute(method, targetClass);
        if (transaction == null) {
            return null;
        }
        try {
            TransactionBoundary.requireTransactional(transaction, () -> "@RetryableTransactional on " + use);
        }
        catch (IllegalArgumentException ex) {
            throw RetryAdviceConfigurationException.nonTransactionalPropagation(String.valueOf(ex.getMessage()));
        }
        if (isAsynchronous(method.getReturnType())) {
            throw RetryAdviceConfigurationException.asynchronousResult(use, method.getReturnType());
        }
        return ((RetryAttribute) retry).on(transaction);
    }

    /** Whether a result type stands for work that may still run, and fail, after the method returned. */
    private static boolean isAsynchronous(Class<?> returnType) {
        return Future.class.isAssignableFrom(returnType) || CompletionStage.class.isAssignableFrom(returnType)
                || Flow.Publisher.class.isAssignableFrom(returnType)
                || ReactiveAdapterRegistry.getSharedInstance().getAdapter(returnType) != null;
    }

    private static final class RetryableTransactionalParser implements TransactionAnnotationParser {

        private final SpringTransactionAnnotationParser transactionalParser = new SpringTransactionAnnotationParser();

        @Override
        public boolean isCandidateClass(Class<?> targetClass) {
            return AnnotationUtils.isCandidateClass(targetClass, RetryableTransactional.class);
        }

        @Override
        @Nullable
        public TransactionAttribute parseTransactionAnnotation(AnnotatedElement element) {
            RetryableTransactional annotation = AnnotatedElementUtils.findMergedAnnotation(element,
                    RetryableTransactional.class);
            if (annotation == null) {
                return null;
            }
            rejectConflictingTransactional(element);
            return RetryAttribute.of(annotation);
        }

        /**
         * Spring prefers a {@code @Transactional} declared on the element to the one that
         * {@code @RetryableTransactional} is meta-annotated with: when their attributes differ, the
         * retry's would be dropped without a word.
         */
        private void rejectConflictingTransactional(AnnotatedElement element) {
            MergedAnnotations annotations = MergedAnnotations.from(element, SearchStrategy.TYPE_HIERARCHY,
                    RepeatableContainers.none());
            MergedAnnotation<Transactional> applied = annotations.get(Transactional.class, null,
                    MergedAnnotationSelectors.firstDirectlyDeclared());
            MergedAnnotation<Transactional> retryable = annotations.stream(Transactional.class)
                .filter(candidate -> candidate.getMetaSource() != null
                        && candidate.getMetaSource().getType() == RetryableTransactional.class)
                .findFirst()
                .orElse(null);
            if (retryable == null || !applied.isPresent() || applied.getMetaSource() != null) {
                return;
            }
            TransactionAttribute appliedAttribute = this.transactionalParser.parseTransactionAnnotation(applied.synthesize());
            TransactionAttribute retryableAttribute = this.transactionalParser
                .parseTransactionAnnotation(retryable.synthesize());
            if (!appliedAttribute.toString().equals(retryableAttribute.toString())) {
                throw RetryAdviceConfigurationException.conflictingTransactional(element, appliedAttribute,
                        retryableAttribute);
            }
        }

    }

}
