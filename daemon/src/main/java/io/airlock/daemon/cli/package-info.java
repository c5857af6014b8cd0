/** The daemon's command line: {@code airlock run} and {@code airlock enroll}. */
package io.airlock.daemon.cli;
