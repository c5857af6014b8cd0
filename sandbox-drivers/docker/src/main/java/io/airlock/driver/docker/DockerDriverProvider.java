package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/** Connects to the local Docker Engine over its unix socket and creates {@link DockerDriver}s. */
public final class DockerDriverProvider implements SandboxDriverProvider {
    static final String NAME = "docker";
    /** The oldest engine API the driver uses features of (engine 20.10). */
    static final String MIN_API = "1.41";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Docker Engine containers: no capabilities, no-new-privileges, read-only root, non-root, no network";
    }

    @Override
    public Optional<String> unavailableReason() {
        DockerOptions options;
        try {
            options = DockerOptions.from(Map.of());
        } catch (DriverException e) {
            return Optional.of(e.getMessage());
        }
        return probe(options.socket());
    }

    @Override
    public Optional<String> optionsProblem(Map<String, Object> configured) {
        try {
            DockerOptions.from(configured);
            return Optional.empty();
        } catch (DriverException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The configured socket answers, speaks a recent enough API, and has every runtime a template names. */
    @Override
    public Optional<String> check(Map<String, Object> configured) {
        try {
            DockerOptions options = DockerOptions.from(configured);
            Optional<String> problem = probe(options.socket());
            if (problem.isPresent()) {
                return problem;
            }
            String api = negotiate(options.socket());
            try (DockerClient docker = client(options.socket(), api)) {
                requireRuntimes(docker, options);
                return Optional.empty();
            }
        } catch (DriverException | IOException e) {
            return Optional.of(e.getMessage());
        }
    }

    static Optional<String> probe(Path socket) {
        if (!Files.exists(socket)) {
            return Optional.of("no Docker engine socket at " + socket + "; install Docker (Debian: apt-get install docker.io) and start dockerd");
        }
        try (DockerClient client = client(socket, null)) {
            client.pingCmd().exec();
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("the Docker engine at " + socket + " does not answer (" + e.getMessage() + "); is dockerd running, and may this user use its socket?");
        }
    }

    /** Below bubblewrap: a Docker sandbox needs an image the operator chose, so it is never the silent default. */
    @Override
    public int priority() {
        return 5;
    }

    @Override
    public SandboxDriver create(DriverContext context) throws DriverException {
        DockerOptions options = DockerOptions.from(context.options());
        Optional<String> problem = probe(options.socket());
        if (problem.isPresent()) {
            throw new DriverException(DriverException.Kind.UNAVAILABLE, problem.get());
        }
        String api = negotiate(options.socket());
        DockerClient docker = client(options.socket(), api);
        requireRuntimes(docker, options);
        return new DockerDriver(context, docker, new EngineSocket(options.socket(), api), options);
    }

    /** Every runtime a template names must be registered with the engine, or provisions would fail one by one later. */
    static void requireRuntimes(DockerClient docker, DockerOptions options) throws DriverException {
        var known = docker.infoCmd().exec().getRuntimes();
        for (DockerOptions.Template t : options.templates().values()) {
            if (!t.runtime().isEmpty() && (known == null || !known.containsKey(t.runtime()))) {
                throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker"
                        + (t.name().equals(DockerOptions.DEFAULT_TEMPLATE) ? "" : ".templates." + t.name()) + ".runtime: '" + t.runtime()
                        + "' is not a runtime of this Docker engine (it has: " + (known == null ? "none" : String.join(", ", new TreeSet<>(known.keySet())))
                        + "); register it in /etc/docker/daemon.json under \"runtimes\" and reload dockerd");
            }
        }
    }

    /** The engine's API version, refused when older than the driver needs. */
    static String negotiate(Path socket) throws DriverException {
        try (DockerClient probe = client(socket, null)) {
            String engine = probe.versionCmd().exec().getApiVersion();
            if (compare(engine, MIN_API) < 0) {
                throw new DriverException(DriverException.Kind.UNAVAILABLE, "the Docker engine speaks API " + engine
                        + "; the driver needs " + MIN_API + " or newer (Docker 20.10+)");
            }
            return engine;
        } catch (IOException e) {
            throw new DriverException(DriverException.Kind.UNAVAILABLE, "cannot talk to the Docker engine: " + e.getMessage(), e);
        }
    }

    static int compare(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int d = Integer.compare(i < x.length ? Integer.parseInt(x[i]) : 0, i < y.length ? Integer.parseInt(y[i]) : 0);
            if (d != 0) {
                return d;
            }
        }
        return 0;
    }

    static DockerClient client(Path socket, String apiVersion) {
        DefaultDockerClientConfig.Builder config = DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost("unix://" + socket);
        if (apiVersion != null) {
            config.withApiVersion(apiVersion);
        }
        DefaultDockerClientConfig c = config.build();
        ZerodepDockerHttpClient http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(c.getDockerHost())
                .maxConnections(32)
                .connectionTimeout(Duration.ofSeconds(5))
                .responseTimeout(Duration.ofMinutes(5))
                .build();
        return DockerClientImpl.getInstance(c, http);
    }
}
