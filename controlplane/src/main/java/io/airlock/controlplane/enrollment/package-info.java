/** One-time join tokens and the Enrollment service that exchanges them for agent certificates. */
package io.airlock.controlplane.enrollment;
