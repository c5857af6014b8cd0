package io.airlock.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The version this build was made as (version.properties, filled in by the build). Its own class so
 * that {@code airlock --version} does not initialise the daemon, and with it the logging backend.
 */
public final class BuildVersion {
    public static final String VERSION = read();

    private BuildVersion() {}

    private static String read() {
        try (InputStream in = BuildVersion.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
