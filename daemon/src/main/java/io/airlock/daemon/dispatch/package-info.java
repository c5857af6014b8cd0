/**
 * Turns control-plane commands into sandbox operations: idempotency by command id, deadlines,
 * drain, bounded concurrency, error mapping, and the Data streams that carry exec I/O and files.
 */
package io.airlock.daemon.dispatch;
