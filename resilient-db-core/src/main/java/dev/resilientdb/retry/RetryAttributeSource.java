package dev.resilientdb.retry;

import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.util.function.Supplier;

import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationUtils;
import org.springframework.lang.Nullable;
import org.springframework.transaction.annotation.AnnotationTransactionAttributeSource;
import org.springframework.transaction.annotation.TransactionAnnotationParser;
import org.springframework.transaction.interceptor.TransactionAttribute;
import org.springframework.transaction.interceptor.TransactionAttributeSource;

/**
 * Finds {@link RetryableTransactional} with Spring's own rules for {@code @Transactional}: the
 * method on the target class first, then its class, resolved once per method <em>and</em> target
 * class and cached. The transaction attribute it pairs with each use is the one Spring's
 * transaction advice will apply. Both the retry pointcut and the retry advice ask this source.
 */
final class RetryAttributeSource extends AnnotationTransactionAttributeSource {

    private final Supplier<TransactionAttributeSource> transactionAttributes;

    /**
     * @param transactionAttributes the source Spring's transaction advice uses, asked for on first use
     */
    RetryAttributeSource(Supplier<TransactionAttributeSource> transactionAttributes) {
        super(new RetryableTransactionalParser());
        // As Spring's own transaction attribute source: protected and package-visible methods of class proxies too.
        setPublicMethodsOnly(false);
        this.transactionAttributes = transactionAttributes;
    }

    @Override
    @Nullable
    protected TransactionAttribute computeTransactionAttribute(Method method, @Nullable Class<?> targetClass) {
        TransactionAttribute retry = super.computeTransactionAttribute(method, targetClass);
        if (retry == null) {
            return null;
        }
        TransactionAttribute transaction = this.transactionAttributes.get().getTransactionAttribute(method, targetClass);
        if (transaction == null) {
            return null;
        }
        TransactionBoundary.requireTransactional(transaction, () -> "@RetryableTransactional on "
                + ((targetClass != null) ? targetClass.getName() : method.getDeclaringClass().getName()) + "."
                + method.getName());
        return ((RetryAttribute) retry).on(transaction);
    }

    private static final class RetryableTransactionalParser implements TransactionAnnotationParser {

        @Override
        public boolean isCandidateClass(Class<?> targetClass) {
            return AnnotationUtils.isCandidateClass(targetClass, RetryableTransactional.class);
        }

        @Override
        @Nullable
        public TransactionAttribute parseTransactionAnnotation(AnnotatedElement element) {
            RetryableTransactional annotation = AnnotatedElementUtils.findMergedAnnotation(element,
                    RetryableTransactional.class);
            return (annotation != null) ? RetryAttribute.of(annotation) : null;
        }

    }

}
