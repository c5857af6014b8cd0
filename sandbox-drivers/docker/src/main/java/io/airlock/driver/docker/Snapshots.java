package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Image;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.DriverException;
import io.airlock.driver.Snapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Snapshots as local images. The root filesystem of a sandbox is read-only, so its state is its
 * workspace volume, which {@code docker commit} leaves out: a snapshot is instead an image built
 * FROM the sandbox's image (by id) with the workspace copied in. A new container's empty
 * workspace volume is filled from the image's /workspace on first mount. The build runs with no
 * network and pulls nothing; the sandbox is frozen while its workspace is read, so the copy is
 * consistent.
 */
final class Snapshots {
    /**
     * Not {@link DockerDriver#LABEL_AGENT}: build containers and containers made from the image
     * inherit its labels, and reconcile must never mistake those for sandboxes.
     */
    static final String LABEL_OWNER = "io.airlock.snapshot-agent";
    static final String LABEL_SNAPSHOT = "io.airlock.snapshot";
    static final String LABEL_SOURCE = "io.airlock.snapshot-of";
    static final String LABEL_CREATED = "io.airlock.snapshot-created";
    private static final long BUILD_MINUTES = 30;

    private final DockerClient docker;
    private final String agentId;
    private final String user;

    Snapshots(DockerClient docker, String agentId, String user) {
        this.docker = docker;
        this.agentId = agentId;
        this.user = user;
    }

    /** One repository per agent; agent ids are lower-case already (they name containers too). */
    private String reference(String name) {
        return "airlock-snapshot-" + agentId + ":" + name;
    }

    Snapshot create(String container, String sandboxId, String name) throws DriverException {
        Snapshot.requireValidName(name);
        if (find(name).isPresent()) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "snapshot '" + name + "' exists already; delete it first or choose another name");
        }
        var inspect = docker.inspectContainerCmd(container).exec();
        boolean freeze = Boolean.TRUE.equals(inspect.getState().getRunning()) && !Boolean.TRUE.equals(inspect.getState().getPaused());
        if (freeze) {
            docker.pauseContainerCmd(container).exec();
        }
        try (InputStream workspace = docker.copyArchiveFromContainerCmd(container, DockerDriver.WORKSPACE).exec()) {
            build(inspect.getImageId(), workspace, name, sandboxId);
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "snapshot '" + name + "': " + e.getMessage(), e);
        } finally {
            if (freeze) {
                docker.unpauseContainerCmd(container).exec();
            }
        }
        return find(name).orElseThrow(() -> new DriverException(Kind.INTERNAL, "snapshot '" + name + "' was built but is not listed"));
    }

    /** Streams a build context (Dockerfile + the workspace tar's entries) into the engine's build. */
    private void build(String baseImageId, InputStream workspaceTar, String name, String sandboxId) throws IOException, DriverException {
        PipedInputStream context = new PipedInputStream(64 * 1024);
        PipedOutputStream pipe = new PipedOutputStream(context);
        CompletableFuture<Void> written = new CompletableFuture<>();
        Thread.ofVirtual().name("snapshot-context").start(() -> {
            try (pipe; TarArchiveOutputStream tar = new TarArchiveOutputStream(pipe);
                    TarArchiveInputStream ws = new TarArchiveInputStream(workspaceTar)) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                byte[] dockerfile = ("FROM " + baseImageId + "\nCOPY --chown=" + user + " workspace/ " + DockerDriver.WORKSPACE + "/\n")
                        .getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry df = new TarArchiveEntry("Dockerfile");
                df.setSize(dockerfile.length);
                tar.putArchiveEntry(df);
                tar.write(dockerfile);
                tar.closeArchiveEntry();
                TarArchiveEntry e;
                while ((e = ws.getNextEntry()) != null) {
                    tar.putArchiveEntry(e);
                    if (e.isFile()) {
                        ws.transferTo(tar);
                    }
                    tar.closeArchiveEntry();
                }
                tar.finish();
                written.complete(null);
            } catch (IOException | RuntimeException ex) {
                written.completeExceptionally(ex);
            }
        });
        try (context) {
            String id = docker.buildImageCmd(context).withTags(Set.of(reference(name))).withNetworkMode("none").withPull(false)
                    .withRemove(true).withForcerm(true)
                    .withLabels(Map.of(LABEL_OWNER, agentId, LABEL_SNAPSHOT, name, LABEL_SOURCE, sandboxId,
                            LABEL_CREATED, Instant.now().toString()))
                    .exec(new BuildImageResultCallback()).awaitImageId(BUILD_MINUTES, TimeUnit.MINUTES);
            if (id == null || id.isEmpty()) {
                throw new DriverException(Kind.INTERNAL, "the engine built snapshot '" + name + "' but reported no image id");
            }
        } catch (DockerException e) {
            throw new DriverException(Kind.INTERNAL, "the engine could not build snapshot '" + name + "': " + e.getMessage(), e);
        }
        if (written.isCompletedExceptionally()) {
            written.join();
        }
    }

    /** The image to provision {@code snapshot:<name>} from; NOT_FOUND when this agent has no such snapshot. */
    String imageFor(String name) throws DriverException {
        Snapshot.requireValidName(name);
        return find(name).map(s -> reference(name))
                .orElseThrow(() -> new DriverException(Kind.NOT_FOUND, "snapshot '" + name + "' does not exist on this agent"));
    }

    Optional<Snapshot> find(String name) {
        try {
            InspectImageResponse image = docker.inspectImageCmd(reference(name)).exec();
            Map<String, String> labels = image.getConfig() == null ? null : image.getConfig().getLabels();
            if (labels == null || !agentId.equals(labels.get(LABEL_OWNER)) || !name.equals(labels.get(LABEL_SNAPSHOT))) {
                return Optional.empty();
            }
            return Optional.of(toSnapshot(labels, image.getSize() == null ? 0 : image.getSize()));
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    List<Snapshot> list() {
        List<Image> images = docker.listImagesCmd().withLabelFilter(Map.of(LABEL_OWNER, agentId)).exec();
        return images.stream().filter(i -> i.getLabels() != null && i.getLabels().containsKey(LABEL_SNAPSHOT))
                .map(i -> toSnapshot(i.getLabels(), i.getSize() == null ? 0 : i.getSize()))
                .sorted(Comparator.comparing(Snapshot::createdAt)).toList();
    }

    private static Snapshot toSnapshot(Map<String, String> labels, long size) {
        Instant created;
        try {
            created = Instant.parse(labels.getOrDefault(LABEL_CREATED, Instant.EPOCH.toString()));
        } catch (DateTimeParseException e) {
            created = Instant.EPOCH;
        }
        return new Snapshot(labels.get(LABEL_SNAPSHOT), labels.getOrDefault(LABEL_SOURCE, ""), created, size);
    }

    void delete(String name) throws DriverException {
        Snapshot.requireValidName(name);
        if (find(name).isEmpty()) {
            return;
        }
        try {
            docker.removeImageCmd(reference(name)).exec();
        } catch (NotFoundException e) {
            // gone meanwhile
        } catch (ConflictException e) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "snapshot '" + name + "' is in use by a sandbox provisioned from it; "
                    + "destroy those first (" + e.getMessage() + ")");
        }
    }
}
