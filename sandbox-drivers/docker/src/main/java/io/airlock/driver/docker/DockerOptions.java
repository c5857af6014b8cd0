package io.airlock.driver.docker;

import io.airlock.driver.DriverException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The Docker driver's options ({@code drivers.options.docker} in the daemon configuration).
 *
 * @param socket        the engine's unix socket
 * @param image         image for sandboxes whose provision names none
 * @param allowedImages images a provision may name (exact references); the default image is always allowed
 * @param user          uid:gid processes run as; the image's /workspace should belong to it
 * @param runtime       OCI runtime, e.g. {@code runsc}; empty for the engine's default
 * @param tmpSize       size of the /tmp tmpfs, e.g. {@code 64m}
 * @param keepalive     the container's main process: something that waits forever
 * @param warmPool      started containers of the default image kept ready for provisions (0: none)
 * @param removeOrphans at start, remove what carries this agent's label but belongs to no sandbox (false: log it, keep it)
 */
record DockerOptions(Path socket, String image, List<String> allowedImages, String user, String runtime, String tmpSize,
        List<String> keepalive, int warmPool, boolean removeOrphans) {
    static final String DEFAULT_IMAGE = "airlock/sandbox:latest";

    static DockerOptions from(Map<String, Object> o) throws DriverException {
        String host = string(o, "socket", System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock"));
        if (host.startsWith("unix://")) {
            host = host.substring("unix://".length());
        } else if (host.contains("://")) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker.socket: '" + host
                    + "' (expected: a unix socket path; the daemon never talks to an engine over TCP)");
        }
        String image = string(o, "image", DEFAULT_IMAGE);
        return new DockerOptions(Path.of(host), image, strings(o, "allowed_images"), string(o, "user", "1000:1000"),
                string(o, "runtime", ""), string(o, "tmp_size", "64m"),
                o.containsKey("keepalive") ? strings(o, "keepalive") : List.of("sleep", "infinity"), warmPool(o), removeOrphans(o));
    }

    private static boolean removeOrphans(Map<String, Object> o) throws DriverException {
        String v = string(o, "orphans", "remove");
        return switch (v) {
            case "remove" -> true;
            case "keep" -> false;
            default -> throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker.orphans: '" + v
                    + "' (expected: remove or keep)");
        };
    }

    private static int warmPool(Map<String, Object> o) throws DriverException {
        Object v = o.getOrDefault("warm_pool", 0);
        try {
            int n = Integer.parseInt(v.toString());
            if (n < 0 || n > 100) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker.warm_pool: '" + v
                    + "' (expected: a whole number from 0 to 100)");
        }
    }

    /**
     * An allowed image: a reference, optionally pinned to a digest ({@code name@sha256:...}). A
     * pinned image is used only if the engine's copy has that digest (a repo digest, or the image
     * id for images loaded locally).
     */
    record AllowedImage(String reference, String digest) {
        static AllowedImage parse(String entry) {
            int at = entry.indexOf("@sha256:");
            return at < 0 ? new AllowedImage(entry, "") : new AllowedImage(entry.substring(0, at), entry.substring(at + 1));
        }

        boolean pinned() {
            return !digest.isEmpty();
        }
    }

    /** The rule allowing {@code requested} (by reference, with or without its digest), if any. */
    java.util.Optional<AllowedImage> rule(String requested) {
        AllowedImage asked = AllowedImage.parse(requested);
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(image), allowedImages.stream())
                .map(AllowedImage::parse)
                .filter(r -> r.reference().equals(asked.reference()) && (!asked.pinned() || asked.digest().equals(r.digest()) || !r.pinned()))
                .findFirst();
    }

    private static String string(Map<String, Object> o, String key, String fallback) {
        Object v = o.get(key);
        return v == null ? fallback : v.toString();
    }

    private static List<String> strings(Map<String, Object> o, String key) throws DriverException {
        Object v = o.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker." + key + ": expected a list");
        }
        return l.stream().map(Object::toString).toList();
    }
}
