package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A minimal sandbox image built on this host, for development and tests where no registry is
 * reachable: the host's static busybox, its applet links, a {@code sandbox} user (1000) and a
 * /workspace it owns, loaded with {@code docker import}.
 */
public final class BusyboxImage {
    public static final String NAME = "airlock/busybox-sandbox:1";
    private static final Path BUSYBOX = Path.of("/bin/busybox");

    private BusyboxImage() {}

    /** Builds the image unless the engine behind {@code socket} has it; returns its name. */
    public static String ensure(Path socket) throws IOException, InterruptedException {
        try (DockerClient docker = DockerDriverProvider.client(socket, null)) {
            return ensure(docker);
        }
    }

    /** Builds the image unless the engine has it; returns its name. */
    public static synchronized String ensure(DockerClient docker) throws IOException, InterruptedException {
        try {
            docker.inspectImageCmd(NAME).exec();
            return NAME;
        } catch (NotFoundException e) {
            // build it below
        }
        Optional<String> missing = unavailableReason();
        if (missing.isPresent()) {
            throw new IOException(missing.get());
        }
        // `docker import` rather than docker-java's createImageCmd: the engine rejects the stream that one sends.
        Process p = new ProcessBuilder("docker", "import", "-", NAME).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(rootfs());
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("docker import failed: " + out);
        }
        return NAME;
    }

    /** What is missing to build the image here, if anything. */
    public static Optional<String> unavailableReason() {
        try {
            if (!Files.isExecutable(BUSYBOX) || !isStatic()) {
                return Optional.of("building the busybox sandbox image needs a static /bin/busybox (apt-get install busybox-static)");
            }
            Process p = new ProcessBuilder("docker", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0 ? Optional.empty() : Optional.of("the docker command line is needed to import the image");
        } catch (IOException e) {
            return Optional.of("the docker command line is needed to import the image (apt-get install docker.io)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted");
        }
    }

    private static boolean isStatic() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ldd", BUSYBOX.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.contains("not a dynamic executable") || out.contains("statically linked");
    }

    /** The image's root filesystem as a tar (also a registry layer in tests). */
    static byte[] rootfs() throws IOException, InterruptedException {
        Process list = new ProcessBuilder(BUSYBOX.toString(), "--list").start();
        String[] applets = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n");
        list.waitFor();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(buf)) {
            dir(tar, "bin/", 0755, 0);
            dir(tar, "etc/", 0755, 0);
            dir(tar, "tmp/", 01777, 0);
            dir(tar, "workspace/", 0755, 1000);
            byte[] busybox = Files.readAllBytes(BUSYBOX);
            TarArchiveEntry bb = new TarArchiveEntry("bin/busybox");
            bb.setMode(0100755);
            bb.setSize(busybox.length);
            tar.putArchiveEntry(bb);
            tar.write(busybox);
            tar.closeArchiveEntry();
            for (String applet : applets) {
                if (applet.isBlank() || applet.equals("busybox")) {
                    continue;
                }
                TarArchiveEntry link = new TarArchiveEntry("bin/" + applet.strip(), TarArchiveEntry.LF_SYMLINK);
                link.setLinkName("busybox");
                tar.putArchiveEntry(link);
                tar.closeArchiveEntry();
            }
            file(tar, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n");
            file(tar, "etc/group", "root:x:0:\nsandbox:x:1000:\n");
        }
        return buf.toByteArray();
    }

    private static void dir(TarArchiveOutputStream tar, String name, int mode, int owner) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(040000 | mode);
        e.setIds(owner, owner);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    private static void file(TarArchiveOutputStream tar, String name, String content) throws IOException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(0100644);
        e.setSize(b.length);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
    }
}
