package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build holds daemon-core to knowing no transport: daemon-core's own pom, given a dependency
 * on gRPC or protobuf (what the generated airlock.v1 classes need), fails Maven's validate phase
 * naming the rule; as it is, it passes.
 */
class CoreBoundaryIT {
    @TempDir
    Path dir;

    private Command.Result validate(String pom) throws Exception {
        Path copy = dir.resolve("pom.xml");
        Files.writeString(copy, pom);
        return Command.run(Duration.ofMinutes(3), "mvn", "-B", "-o", "-q", "validate", "-f", copy.toString());
    }

    @Test
    void daemonCoreMayNotDependOnTheProtocolOrGrpc() throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).getParent();
        String pom = Files.readString(root.resolve("daemon-core/pom.xml"))
                // The copy lives elsewhere: point it at the real parent.
                .replace("<artifactId>airlock-parent</artifactId>", "<artifactId>airlock-parent</artifactId>\n    <relativePath>"
                        + dir.relativize(root.resolve("pom.xml")) + "</relativePath>")
                // Our own modules are not in the local repository after a plain 'mvn verify': leave them out
                // (the rule judges what is added; the protocol module would bring gRPC and protobuf in anyway).
                .replaceAll("(?s)<dependency>\\s*<groupId>io\\.airlock</groupId>.*?</dependency>", "");
        assertEquals(0, validate(pom).exit(), "daemon-core's pom as it is passes");
        for (String banned : new String[] {"<groupId>io.grpc</groupId><artifactId>grpc-api</artifactId><version>1.80.0</version>",
            "<groupId>com.google.protobuf</groupId><artifactId>protobuf-java</artifactId><version>3.25.8</version>"}) {
            Command.Result r = validate(pom.replaceFirst("<dependencies>", "<dependencies><dependency>" + banned + "</dependency>"));
            assertNotEquals(0, r.exit(), r.out());
            assertTrue(r.out().contains("banned via the exclude/include list") && r.out().contains("daemon-core must not depend on gRPC"),
                    r.out());
        }
    }
}
