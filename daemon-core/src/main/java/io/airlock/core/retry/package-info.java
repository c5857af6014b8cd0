/** How the daemon paces retries: one backoff for every connector and loop that tries again. */
package io.airlock.core.retry;
