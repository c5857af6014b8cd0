/**
 * The Docker driver: a sandbox is a hardened container (all capabilities dropped,
 * no-new-privileges, read-only root, non-root user, default seccomp, no network) with a
 * labelled workspace volume, found again by its labels after a daemon restart.
 *
 * <p>docker-java does the engine API; {@link io.airlock.driver.docker.EngineSocket} does the two
 * calls it cannot: a hijacked exec whose stdin can be half-closed, and the archive stat.
 */
package io.airlock.driver.docker;
