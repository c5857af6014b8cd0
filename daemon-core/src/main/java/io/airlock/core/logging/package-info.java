/** The operational log of {@code airlock run}: structured lines on stdout, level and format from the configuration. */
package io.airlock.core.logging;
