/** The {@code airlock} command: one entry point for the daemon, the reference control plane and the dev session. */
package io.airlock.launcher;
