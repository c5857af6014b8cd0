/**
 * The bubblewrap driver: a sandbox is a directory on the host (workspace, /tmp, metadata);
 * every exec is a fresh {@code bwrap} with all namespaces unshared (no network), the host's
 * /usr read-only, no capabilities, in the sandbox's cgroup when the host lets us make one.
 * Sandboxes are directories, so they outlive daemon restarts.
 */
package io.airlock.driver.bubblewrap;
