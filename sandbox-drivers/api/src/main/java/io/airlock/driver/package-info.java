/**
 * The sandbox driver SPI: what a backend (bubblewrap, Docker, ...) must do to host sandboxes,
 * found with {@link java.util.ServiceLoader} through {@link io.airlock.driver.SandboxDriverProvider}.
 *
 * <p>Drivers start raw processes ({@link io.airlock.driver.SandboxProcess}); sequence numbers,
 * output caps and timeouts are added once for all drivers by {@link io.airlock.driver.Execution},
 * and path confinement by {@link io.airlock.driver.WorkspacePaths}.
 */
package io.airlock.driver;
