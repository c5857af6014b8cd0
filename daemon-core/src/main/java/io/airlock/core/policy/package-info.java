/** The local policy: what the control plane may ask for. The control plane is trusted to ask, not to decide. */
package io.airlock.core.policy;
