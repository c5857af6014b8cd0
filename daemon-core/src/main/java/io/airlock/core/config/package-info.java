/** The daemon's YAML configuration: typed records, defaults, and validation that names the field at fault. */
package io.airlock.core.config;
