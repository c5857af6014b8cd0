package io.airlock.driver.docker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;

/**
 * A minimal read-only registry (Docker Registry HTTP API v2) on 127.0.0.1 serving one image,
 * the busybox root filesystem as a single layer, so tests can pull without any outside
 * registry. The engine treats 127.0.0.0/8 registries as insecure, so plain HTTP is accepted.
 * Serves the layer in small writes with short pauses so the pull shows progress.
 */
final class LocalRegistry implements AutoCloseable {
    private final HttpServer server;
    private final String repository;
    private final byte[] manifest;
    private final Map<String, byte[]> blobs;
    final AtomicInteger layerDownloads = new AtomicInteger();

    LocalRegistry(String repository) throws Exception {
        this.repository = repository;
        byte[] layerTar = BusyboxImage.rootfs();
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(layerTar);
        }
        byte[] layer = gz.toByteArray();
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + digest(layerTar) + "\"]}}").getBytes(StandardCharsets.UTF_8);
        this.manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":" + config.length
                + ",\"digest\":\"" + digest(config) + "\"},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
                + "\"size\":" + layer.length + ",\"digest\":\"" + digest(layer) + "\"}]}").getBytes(StandardCharsets.UTF_8);
        this.blobs = Map.of(digest(config), config, digest(layer), layer);
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/v2/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    /** host:port/repository:tag */
    String reference(String tag) {
        return "127.0.0.1:" + server.getAddress().getPort() + "/" + repository + ":" + tag;
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            x.getResponseHeaders().add("Docker-Distribution-API-Version", "registry/2.0");
            boolean head = x.getRequestMethod().equals("HEAD");
            if (path.equals("/v2/")) {
                send(x, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8), head, false);
            } else if (path.startsWith("/v2/" + repository + "/manifests/")) {
                x.getResponseHeaders().add("Docker-Content-Digest", digest(manifest));
                send(x, 200, "application/vnd.docker.distribution.manifest.v2+json", manifest, head, false);
            } else if (path.startsWith("/v2/" + repository + "/blobs/") && blobs.containsKey(path.substring(path.lastIndexOf('/') + 1))) {
                byte[] blob = blobs.get(path.substring(path.lastIndexOf('/') + 1));
                boolean isLayer = blob.length > 10_000;
                if (isLayer && !head) {
                    layerDownloads.incrementAndGet();
                }
                send(x, 200, "application/octet-stream", blob, head, isLayer);
            } else {
                send(x, 404, "application/json", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}".getBytes(StandardCharsets.UTF_8), head, false);
            }
        }
    }

    private static void send(HttpExchange x, int status, String type, byte[] body, boolean head, boolean slowly) throws IOException {
        x.getResponseHeaders().add("Content-Type", type);
        if (head) {
            // The engine wants the length on HEAD too.
            x.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length);
        OutputStream out = x.getResponseBody();
        int step = slowly ? Math.max(1, body.length / 8) : body.length;
        for (int off = 0; off < body.length; off += step) {
            out.write(body, off, Math.min(step, body.length - off));
            out.flush();
            if (slowly) {
                try {
                    Thread.sleep(150);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    static String digest(byte[] bytes) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
