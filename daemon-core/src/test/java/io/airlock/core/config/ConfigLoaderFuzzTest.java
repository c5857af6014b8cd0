package io.airlock.core.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;

/**
 * Any text as a configuration file: it loads, or the loader refuses it with a ConfigException
 * whose message is one line naming the source. Nothing else escapes (no Jackson or YAML
 * exception, no stack overflow, no hang).
 */
class ConfigLoaderFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void anyTextLoadsOrIsRefusedInOneLine(@NotNull byte[] bytes) {
        // Bytes, not a String parameter: the seeds (src/test/resources/.../Inputs) are plain YAML files.
        String yaml = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        try {
            ConfigLoader.parse(yaml, "fuzz.yaml");
        } catch (ConfigException e) {
            String m = e.getMessage();
            if (m == null || !m.startsWith("fuzz.yaml: ")) {
                throw new AssertionError("a refusal that does not name the file: " + m, e);
            }
        }
    }
}
