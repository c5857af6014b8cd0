/** The Airlock daemon: {@link io.airlock.daemon.Daemon} is the composition root and lifecycle. */
package io.airlock.daemon;
