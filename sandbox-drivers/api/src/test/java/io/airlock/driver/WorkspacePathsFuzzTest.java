package io.airlock.driver;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;

/**
 * Any path a caller sends, against a workspace the sandbox has booby-trapped with symbolic links
 * (out of the workspace, back into it, dangling, looping): it is refused, or it resolves to a
 * place inside the workspace, judged by the file system itself.
 */
class WorkspacePathsFuzzTest {
    private static Path root;

    @BeforeAll
    static void plantLinks() throws IOException {
        Path base = Files.createTempDirectory("workspace-fuzz");
        Files.createDirectories(base.resolve("outside/secret"));
        root = Files.createDirectories(base.resolve("ws")).toRealPath();
        Files.createDirectories(root.resolve("a/b/c"));
        Files.writeString(root.resolve("a/file"), "x");
        Files.createSymbolicLink(root.resolve("out"), base.resolve("outside"));
        Files.createSymbolicLink(root.resolve("a/up"), Path.of(".."));
        Files.createSymbolicLink(root.resolve("a/b/upup"), Path.of("../../.."));
        Files.createSymbolicLink(root.resolve("a/in"), root.resolve("a/b"));
        Files.createSymbolicLink(root.resolve("dangling"), base.resolve("nowhere"));
        Files.createSymbolicLink(root.resolve("loop"), Path.of("loop"));
        Files.createSymbolicLink(root.resolve("a/b/c/abs"), Path.of("/etc"));
    }

    @FuzzTest(maxDuration = "60s")
    void everyPathIsRefusedOrInside(String relative) {
        Path resolved;
        try {
            resolved = WorkspacePaths.resolve(root, relative);
        } catch (DriverException refused) {
            return;
        } catch (java.nio.file.InvalidPathException refused) {
            return; // a path the file system cannot name at all never reaches a file
        }
        Path existing = resolved;
        while (existing != null && !Files.exists(existing, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        try {
            Path real = existing == null ? null : existing.toRealPath();
            if (real == null || !real.startsWith(root) || !resolved.normalize().startsWith(root)) {
                throw new AssertionError("'" + relative + "' resolved to " + resolved + " (really " + real + "), outside " + root);
            }
        } catch (IOException e) {
            // a link loop or a dangling link that resolve() let through at the last component
            throw new AssertionError("'" + relative + "' resolved to " + resolved + ", which does not resolve: " + e);
        }
    }
}
