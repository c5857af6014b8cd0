package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.PullResponseItem;
import io.airlock.driver.DriverEvent;
import io.airlock.driver.DriverException;
import io.airlock.driver.DriverException.Kind;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure an image is on the engine, pulling it when it is not, and reports the pull's
 * progress as events for the sandbox that waits for it: on every status change of a layer, and
 * at most every {@link #EVERY} while a layer downloads or extracts.
 */
final class ImagePuller {
    private static final Logger log = LoggerFactory.getLogger(ImagePuller.class);
    static final Duration EVERY = Duration.ofMillis(500);
    static final Duration PULL_TIMEOUT = Duration.ofMinutes(15);

    private final DockerClient docker;
    private final Consumer<DriverEvent> events;

    ImagePuller(DockerClient docker, Consumer<DriverEvent> events) {
        this.docker = docker;
        this.events = events;
    }

    /** Looks {@code image} up; when missing, pulls {@code pullReference} (by digest when pinned) for {@code sandboxId}. */
    void ensure(String sandboxId, String image, String pullReference) throws DriverException {
        try {
            docker.inspectImageCmd(image).exec();
            return;
        } catch (NotFoundException e) {
            log.info("image {} not present; pulling {} for sandbox {}", image, pullReference, sandboxId);
        }
        Progress progress = new Progress(sandboxId, image);
        try (Progress callback = docker.pullImageCmd(pullReference).exec(progress)) {
            if (!callback.awaitCompletion(PULL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new DriverException(Kind.UNAVAILABLE, "pulling image '" + image + "' did not finish within " + PULL_TIMEOUT
                        + "; load it on this host (docker load / docker import) or check its registry");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DriverException(Kind.UNAVAILABLE, "interrupted while pulling " + image);
        } catch (IOException | RuntimeException pull) {
            emit(sandboxId, image, "", "Pull failed: " + pull.getMessage(), 0, 0);
            throw new DriverException(Kind.UNAVAILABLE, "image '" + image + "' is not present on this host and pulling it failed ("
                    + pull.getMessage() + "); load it on this host (docker load / docker import) or make its registry reachable");
        }
        emit(sandboxId, image, "", "Pull complete", 0, 0);
    }

    private void emit(String sandboxId, String image, String layer, String status, long current, long total) {
        if (sandboxId.isEmpty()) {
            return; // a warm-pool refill: no one is waiting for it
        }
        events.accept(new DriverEvent(sandboxId, DriverEvent.Kind.IMAGE_PULL, status,
                new DriverEvent.ImagePull(image, layer, status, current, total)));
    }

    /** Throttles the engine's progress stream (it sends a message per chunk read) to what a person can follow. */
    private final class Progress extends ResultCallback.Adapter<PullResponseItem> {
        private final String sandboxId;
        private final String image;
        private final Map<String, String> lastStatus = new HashMap<>();
        private final Map<String, Long> lastSentNanos = new HashMap<>();

        Progress(String sandboxId, String image) {
            this.sandboxId = sandboxId;
            this.image = image;
        }

        @Override
        public void onNext(PullResponseItem item) {
            if (item.getErrorDetail() != null) {
                onError(new IllegalStateException(item.getErrorDetail().getMessage()));
                return;
            }
            String layer = item.getId() == null ? "" : item.getId();
            String status = item.getStatus() == null ? "" : item.getStatus();
            long now = System.nanoTime();
            boolean changed = !status.equals(lastStatus.get(layer));
            Long last = lastSentNanos.get(layer);
            if (!changed && last != null && now - last < EVERY.toNanos()) {
                return;
            }
            lastStatus.put(layer, status);
            lastSentNanos.put(layer, now);
            var detail = item.getProgressDetail();
            long current = detail == null || detail.getCurrent() == null ? 0 : detail.getCurrent();
            long total = detail == null || detail.getTotal() == null ? 0 : detail.getTotal();
            emit(sandboxId, image, layer, status, current, total);
        }
    }
}
