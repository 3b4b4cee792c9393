/**
 * Auto-configuration of resilient-db for Spring Boot: properties, pool and driver settings, retries,
 * health, metrics, the endpoint and problem responses.
 */
@NullMarked
package dev.resilientdb.autoconfigure;

import org.jspecify.annotations.NullMarked;
