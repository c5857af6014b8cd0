/**
 * Egress control: the allow rules that bound what a sandbox may reach, how a control plane's
 * request is narrowed to what the operator allowed, and the decision for each connection.
 */
package io.airlock.core.egress;
