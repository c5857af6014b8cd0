/** The control plane's certificate authority: its own key, the server certificate, and short-lived agent certificates. */
package io.airlock.controlplane.ca;
