package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pings the engine every {@link #INTERVAL}. While it does not answer the driver reports itself
 * unavailable (operations fail fast with a reason instead of hanging); when it answers again,
 * {@code onRecovery} runs once, so no daemon restart is needed after a dockerd restart.
 */
final class EngineWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EngineWatch.class);
    static final Duration INTERVAL = Duration.ofSeconds(1);

    private final DockerClient docker;
    private final Path socket;
    private final Runnable onRecovery;
    private final BooleanSupplier needsRecovery;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "docker-engine-watch");
        t.setDaemon(true);
        return t;
    });
    private volatile String problem;

    /**
     * @param needsRecovery asked while the engine answers: true when something of ours is down
     *                      (a restart faster than one ping interval still stops containers)
     */
    EngineWatch(DockerClient docker, Path socket, Runnable onRecovery, BooleanSupplier needsRecovery) {
        this.docker = docker;
        this.socket = socket;
        this.onRecovery = onRecovery;
        this.needsRecovery = needsRecovery;
        timer.scheduleWithFixedDelay(this::check, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    Optional<String> problem() {
        return Optional.ofNullable(problem);
    }

    private void check() {
        boolean up;
        String why = null;
        try {
            docker.pingCmd().exec();
            up = true;
        } catch (RuntimeException e) {
            up = false;
            why = e.getMessage();
        }
        if (!up && problem == null) {
            problem = "the Docker engine at " + socket + " stopped answering at " + Instant.now() + " (" + why + ")";
            log.warn("{}; the docker driver is unavailable until it is back", problem);
        } else if (up && problem != null) {
            problem = null;
            onRecovery.run();
        } else if (up) {
            try {
                if (needsRecovery.getAsBoolean()) {
                    log.info("a container of this agent is not running; reconciling");
                    onRecovery.run();
                }
            } catch (RuntimeException e) {
                log.debug("recovery check failed: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
