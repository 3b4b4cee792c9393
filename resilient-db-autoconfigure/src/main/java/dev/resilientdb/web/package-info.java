/**
 * RFC 9457 problem responses for database failures in Spring MVC applications.
 */
@NullMarked
package dev.resilientdb.web;

import org.jspecify.annotations.NullMarked;
