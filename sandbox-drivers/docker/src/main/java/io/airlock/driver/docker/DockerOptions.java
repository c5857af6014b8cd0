package io.airlock.driver.docker;

import io.airlock.driver.DriverException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

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
 * @param templates     named alternatives to the defaults above (image, runtime, warm pool); "default" is the defaults
 */
record DockerOptions(Path socket, String image, List<String> allowedImages, String user, String runtime, String tmpSize,
        List<String> keepalive, int warmPool, boolean removeOrphans, Map<String, Template> templates) {
    static final String DEFAULT_TEMPLATE = "default";
    private static final Pattern TEMPLATE_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");

    /** What a sandbox is made from: an image, an OCI runtime (empty: the engine's default) and a warm pool of that kind. */
    record Template(String name, String image, String runtime, int warmPool) {}

    /** The template of that name; the defaults for an empty name. */
    Template template(String name) throws DriverException {
        Template t = templates.get(name.isEmpty() ? DEFAULT_TEMPLATE : name);
        if (t == null) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "template '" + name + "' is not configured on this agent"
                    + " (configured: " + String.join(", ", new TreeSet<>(templates.keySet())) + "; see drivers.options.docker.templates)");
        }
        return t;
    }

    static final String DEFAULT_IMAGE = "airlock/sandbox:latest";

    static final List<String> KEYS = List.of("allowed_images", "image", "keepalive", "orphans", "runtime", "socket", "templates",
            "tmp_size", "user", "warm_pool");

    static DockerOptions from(Map<String, Object> o) throws DriverException {
        for (String key : o.keySet()) {
            if (!KEYS.contains(key)) {
                throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker." + key
                        + ": unknown option (expected one of: " + String.join(", ", KEYS) + ")");
            }
        }
        String host = string(o, "socket", System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock"));
        if (host.startsWith("unix://")) {
            host = host.substring("unix://".length());
        } else if (host.contains("://")) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker.socket: '" + host
                    + "' (expected: a unix socket path; the daemon never talks to an engine over TCP)");
        }
        String image = string(o, "image", DEFAULT_IMAGE);
        String runtime = string(o, "runtime", "");
        int warmPool = warmPool(o, "warm_pool");
        Map<String, Template> templates = new LinkedHashMap<>();
        templates.put(DEFAULT_TEMPLATE, new Template(DEFAULT_TEMPLATE, image, runtime, warmPool));
        Object configured = o.getOrDefault("templates", Map.of());
        if (!(configured instanceof Map<?, ?> named)) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker.templates: expected a map of name to "
                    + "{image, runtime, warm_pool}");
        }
        for (var e : named.entrySet()) {
            String name = String.valueOf(e.getKey());
            String field = "drivers.options.docker.templates." + name;
            if (!TEMPLATE_NAME.matcher(name).matches() || name.equals(DEFAULT_TEMPLATE)) {
                throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, field + ": bad name (expected: 1-32 of [a-z0-9-], not 'default')");
            }
            if (!(e.getValue() instanceof Map<?, ?> t)) {
                throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, field + ": expected {image, runtime, warm_pool}");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> tm = (Map<String, Object>) t;
            for (String key : tm.keySet()) {
                if (!List.of("image", "runtime", "warm_pool").contains(key)) {
                    throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, field + "." + key + ": unknown (expected: image, runtime, warm_pool)");
                }
            }
            templates.put(name, new Template(name, string(tm, "image", image), string(tm, "runtime", runtime),
                    warmPool(tm, "templates." + name + ".warm_pool")));
        }
        return new DockerOptions(Path.of(host), image, strings(o, "allowed_images"), string(o, "user", "1000:1000"),
                runtime, string(o, "tmp_size", "64m"),
                o.containsKey("keepalive") ? strings(o, "keepalive") : List.of("sleep", "infinity"), warmPool, removeOrphans(o),
                Map.copyOf(templates));
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

    private static int warmPool(Map<String, Object> o, String field) throws DriverException {
        Object v = o.getOrDefault("warm_pool", 0);
        try {
            int n = Integer.parseInt(v.toString());
            if (n < 0 || n > 100) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options.docker." + field + ": '" + v
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
    Optional<AllowedImage> rule(String requested) {
        AllowedImage asked = AllowedImage.parse(requested);
        // The operator's own templates are allowed by definition.
        return Stream.concat(templates.values().stream().map(Template::image), allowedImages.stream())
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
