package io.airlock.connector.worker.tools;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.nio.file.PathMatcher;
import org.junit.jupiter.api.Test;

/** '**' + '/' matches zero or more directories anywhere in the pattern, as the SDK's glob (Node's fs.glob) does. */
class GlobstarTest {
    private static boolean matches(String pattern, String path) throws ToolException {
        PathMatcher m = Toolset.globstar(pattern);
        return m.matches(Path.of(path));
    }

    @Test
    void aGlobstarInTheMiddleMatchesNoDirectoryToo() throws Exception {
        assertTrue(matches("g/**/*.md", "g/new.md"));
        assertTrue(matches("g/**/*.md", "g/a/b/deep.md"));
        assertFalse(matches("g/**/*.md", "h/new.md"));
        assertFalse(matches("g/**/*.md", "g/new.txt"));
    }

    @Test
    void aLeadingGlobstarMatchesTheTop() throws Exception {
        assertTrue(matches("**/*.md", "README.md"));
        assertTrue(matches("**/*.md", "docs/x/guide.md"));
    }

    @Test
    void severalGlobstarsEachMatchNoneOrMany() throws Exception {
        assertTrue(matches("a/**/b/**/c.txt", "a/b/c.txt"));
        assertTrue(matches("a/**/b/**/c.txt", "a/x/b/c.txt"));
        assertTrue(matches("a/**/b/**/c.txt", "a/b/y/z/c.txt"));
        assertFalse(matches("a/**/b/**/c.txt", "a/c.txt"));
    }

    @Test
    void starsInsideANameAreNotAGlobstar() throws Exception {
        assertFalse(matches("x**/y", "y"));
        assertTrue(matches("x**/y", "xab/y"));
    }

    @Test
    void tooManyGlobstarsOrABadGlobAreRefusedByName() {
        ToolException e = assertThrows(ToolException.class, () -> Toolset.globstar("**/".repeat(7) + "x"));
        assertTrue(e.getMessage().contains("over 6 '**/'"), e.getMessage());
        ToolException bad = assertThrows(ToolException.class, () -> Toolset.globstar("a{b"));
        assertTrue(bad.getMessage().contains("is not a glob"), bad.getMessage());
    }
}
