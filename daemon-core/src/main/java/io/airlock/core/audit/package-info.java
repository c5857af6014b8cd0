/**
 * The tamper-evident local audit log: JSON Lines, each record chained to the previous one by
 * SHA-256 and authenticated with an HMAC under a key only the daemon holds, a sealed head that
 * catches a truncated tail, size-based rotation that continues the chain, and the verifier
 * behind {@code airlock audit verify}. The schema is in docs/audit-log.md.
 */
package io.airlock.core.audit;
