/** Sandboxes across drivers: driver discovery and choice, and policy-checked sandbox operations. */
package io.airlock.core.sandbox;
