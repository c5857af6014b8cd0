package io.airlock.connector.worker.tools;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The agent toolset (agent_toolset_20260401: bash, read, write, edit, glob, grep) run inside one
 * session's sandbox. bash runs in the sandbox's persistent shell; the file tools go through the
 * driver, confined to the workspace ({@value Workdir#ROOT}) with symbolic links resolved. Bounds
 * follow the published toolset: read 256 KiB, glob 200 results, grep 100 KiB of output and lines
 * up to 2,000 characters, bash 120 s by default and its last 100 KiB.
 */
public final class Toolset implements AutoCloseable {
    /** The SDK toolset's bash bound (BASH_TIMEOUT_MS): the default and the most a call may ask for. */
    public static final Duration DEFAULT_BASH_TIMEOUT = Duration.ofSeconds(295);
    /** The SDK toolset's read limit (DEFAULT_MAX_READ_BYTES): a larger file is read by view_range only. */
    static final int READ_CAP = 110_000;
    static final int GLOB_RESULTS = 200;
    static final int GREP_OUTPUT = 100 * 1024;
    static final int GREP_LINE = 2000;
    /** A file larger than this is not searched by grep (it would be read whole). */
    static final long GREP_FILE_MAX = 16L << 20;
    /** A search (grep) stops after this and says so; bash is bounded by its own timeout (at most 295 s). */
    public static final Duration CALL_BOUND = Duration.ofSeconds(150);
    /** How long a call waits for a command slot of the core before it is refused. */
    static final Duration ADMISSION_WAIT = Duration.ofSeconds(30);

    /** Shells a session may have; a session of more threads is told so rather than served by a shared one. */
    static final int MAX_SHELLS = 16;
    /** The sandbox volume bash saves a long output in (the SDK saves it in its host's temp directory); read, never written, by the file tools. */
    public static final String SAVED_OUTPUT = "/tmp/bash-output";

    private final SandboxService sandboxes;
    private final String sandboxId;
    /** One shell per session thread ("" the session's own), as the SDK's bash tool keeps them: a cd in one is not seen in another. */
    private final java.util.concurrent.ConcurrentHashMap<String, BashShell> shells = new java.util.concurrent.ConcurrentHashMap<>();
    private final String savedDir;
    private final Workdir paths;
    private volatile boolean closed;

    public Toolset(SandboxService sandboxes, String sandboxId) {
        this(sandboxes, sandboxId, Workdir.WORKSPACE, false);
    }

    /**
     * @param paths      where the file tools may go: the workspace and the session's memory stores
     * @param savedOutput whether the sandbox has the {@link #SAVED_OUTPUT} volume; without it a long output is only cut
     */
    public Toolset(SandboxService sandboxes, String sandboxId, Workdir paths, boolean savedOutput) {
        this.sandboxes = sandboxes;
        this.sandboxId = sandboxId;
        this.savedDir = savedOutput ? SAVED_OUTPUT : null;
        this.paths = savedOutput ? paths.withReadOnlyRoot(SAVED_OUTPUT) : paths;
    }

    /** Runs one call; a refusal or failure is an is_error result saying what and why. */
    public ToolResult call(String name, JsonNode input) throws InterruptedException {
        return call(name, input, "");
    }

    /** As above, for a call of session thread {@code thread} ("" for the session's own). */
    public ToolResult call(String name, JsonNode input, String thread) throws InterruptedException {
        // A command slot of the core, as an airlock.v1 command takes one: the daemon's bound holds across connectors.
        if (!sandboxes.commands().tryAcquire(ADMISSION_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            return ToolResult.denied("policy.max_concurrent_commands", name + ": policy.max_concurrent_commands ("
                    + sandboxes.policy().maxConcurrentCommands() + ") commands were running for " + ADMISSION_WAIT.toSeconds()
                    + " s; call again later");
        }
        try (SandboxService.InUse ignored = sandboxes.use(sandboxId)) {
            return switch (name) {
                case "bash" -> bash(input, shellOf(thread == null ? "" : thread));
                case "read" -> ToolResult.ok(read(input));
                case "write" -> ToolResult.ok(write(input));
                case "edit" -> ToolResult.ok(edit(input));
                case "glob" -> ToolResult.ok(glob(input));
                case "grep" -> ToolResult.ok(grep(input));
                default -> ToolResult.error(name + ": not a tool of agent_toolset_20260401");
            };
        } catch (ToolException e) {
            return ToolResult.error(name + ": " + e.getMessage());
        } catch (PolicyDeniedException e) {
            return ToolResult.denied(e.rule(), name + ": denied by the local policy (" + e.rule() + "): " + e.getMessage());
        } catch (DriverException e) {
            return ToolResult.error(name + ": " + e.getMessage());
        } finally {
            sandboxes.commands().release();
        }
    }

    private static final String HOW_TO_RESTART = "Call bash with restart set to true to start a new one. It starts in the original "
            + "working directory, without the old shell's variables, activated environments and background jobs.";
    /** The SDK toolset's words for a shell that ended, and for a call made after. */
    public static final String SHELL_GONE = "[The shell is gone. " + HOW_TO_RESTART + "]";
    public static final String COMMAND_NOT_RUN = "[This command did not run, because the shell is gone. " + HOW_TO_RESTART + "]";

    private BashShell shellOf(String thread) throws ToolException {
        BashShell s = shells.get(thread);
        if (s != null) {
            return s;
        }
        if (shells.size() >= MAX_SHELLS) {
            throw new ToolException("this session already has " + MAX_SHELLS + " shells, one per session thread (expected: at most "
                    + MAX_SHELLS + " threads calling bash)");
        }
        s = shells.computeIfAbsent(thread, t -> new BashShell(sandboxes, sandboxId, savedDir));
        if (closed) {
            s.close(); // closed meanwhile: the shell it would start is killed with the rest
        }
        return s;
    }

    private ToolResult bash(JsonNode in, BashShell shell) throws DriverException, PolicyDeniedException, InterruptedException, ToolException {
        if (in.path("restart").asBoolean(false)) {
            shell.restart();
            if (!in.hasNonNull("command") || in.path("command").asText().isEmpty()) {
                return ToolResult.ok("bash session restarted");
            }
        }
        String command = text(in, "command");
        long timeoutMs = in.path("timeout_ms").asLong(0);
        // The SDK's bound (295 s) caps what is asked; the policy bounds it like any exec: a timeout above
        // policy.exec.max_timeout is refused, never cut. Without one, the default is the lower of the two.
        Duration timeout = timeoutMs > 0 ? sandboxes.policy().execTimeout(Math.min(timeoutMs, DEFAULT_BASH_TIMEOUT.toMillis()), 0, 0)
                : min(DEFAULT_BASH_TIMEOUT, sandboxes.policy().maxExecTimeout());
        BashShell.Outcome o = shell.run(command, timeout);
        if (o == BashShell.NOT_RUN) {
            return ToolResult.error(COMMAND_NOT_RUN);
        }
        String out = o.note() + o.output();
        if (o.shellGone()) {
            out = (out.isEmpty() ? "(no output)" : out) + "\n" + SHELL_GONE;
        }
        if (o.exitCode() != 0) {
            return ToolResult.error(out.isEmpty() ? "(no output)" : out);
        }
        return ToolResult.ok(out.isEmpty() ? "(no output)" : out);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private String read(JsonNode in) throws ToolException, DriverException {
        String path = text(in, "file_path");
        String rel = paths.path(path);
        FileEntry st = regularFile(rel, path);
        JsonNode range = in.path("view_range");
        if (!range.isMissingNode() && !range.isNull() && (!range.isArray() || range.size() != 2 || !range.get(0).canConvertToInt()
                || !range.get(1).canConvertToInt())) {
            throw new ToolException("view_range must be [start_line, end_line]");
        }
        boolean ranged = range.isArray();
        if (st.size() > READ_CAP && !ranged) {
            throw new ToolException(path + " is " + st.size() + " bytes, exceeds " + READ_CAP
                    + "-byte limit. Use the view_range parameter to read specific line ranges, e.g. view_range: [1, 500].");
        }
        if (st.size() <= READ_CAP) {
            // As the SDK: the whole file decoded (bytes that are not UTF-8 become U+FFFD), a range cut
            // from its lines split on '\n' (so [3, -1] keeps a final newline).
            String data = new String(readAll(rel, READ_CAP), StandardCharsets.UTF_8);
            if (!ranged) {
                return data;
            }
            String[] lines = data.split("\n", -1);
            int from = Math.max(0, range.get(0).asInt() - 1);
            int to = range.get(1).asInt() > 0 ? Math.min(lines.length, range.get(1).asInt()) : lines.length;
            return from >= to ? "" : String.join("\n", java.util.Arrays.asList(lines).subList(from, to));
        }
        int start = Math.max(1, range.get(0).asInt());
        int end = range.get(1).asInt();
        StringBuilder out = new StringBuilder();
        try (BoundedLines r = new BoundedLines(sandboxes.openRead(sandboxId, rel), READ_CAP)) {
            String line;
            for (int n = 1; (line = r.next()) != null && (end <= 0 || n <= end); n++) {
                if (n >= start) {
                    if (r.tooLong()) {
                        throw new ToolException("line " + n + " of " + path + " is longer than " + READ_CAP + " characters");
                    }
                    if (out.length() + line.length() > READ_CAP) {
                        throw new ToolException("lines " + start + " to " + end + " of " + path + " exceed " + READ_CAP + " bytes; ask for fewer");
                    }
                    if (!out.isEmpty()) {
                        out.append('\n');
                    }
                    out.append(line);
                }
            }
        } catch (IOException e) {
            throw new ToolException("cannot read " + path + ": " + e.getMessage());
        }
        return out.toString();
    }

    private String write(JsonNode in) throws ToolException, DriverException {
        String path = text(in, "file_path");
        String rel = paths.writable(path);
        byte[] content = in.path("content").asText("").getBytes(StandardCharsets.UTF_8);
        if (content.length > sandboxes.maxFileBytes()) {
            throw new ToolException("content is " + content.length + " bytes; policy.max_file_bytes allows " + sandboxes.maxFileBytes());
        }
        put(rel, content, path);
        return "wrote " + content.length + " bytes to " + path;
    }

    private String edit(JsonNode in) throws ToolException, DriverException {
        String path = text(in, "file_path");
        String rel = paths.writable(path);
        String old = in.path("old_string").asText("");
        if (old.isEmpty()) {
            throw new ToolException("old_string is required");
        }
        String replacement = in.path("new_string").asText("");
        boolean all = in.path("replace_all").asBoolean(false);
        FileEntry st = regularFile(rel, path);
        if (st.size() > READ_CAP) {
            throw new ToolException(path + " is " + st.size() + " bytes, exceeds " + READ_CAP + "-byte limit");
        }
        String data = utf8(readAll(rel, READ_CAP), path);
        int count = 0;
        for (int at = data.indexOf(old); at >= 0; at = data.indexOf(old, at + old.length())) {
            count++;
        }
        if (count == 0) {
            throw new ToolException("old_string not found in " + path);
        }
        if (count > 1 && !all) {
            throw new ToolException("old_string appears " + count + " times in " + path + " (must be unique, or set replace_all)");
        }
        String updated = all ? data.replace(old, replacement) : data.replaceFirst(Pattern.quote(old), Matcher.quoteReplacement(replacement));
        put(rel, updated.getBytes(StandardCharsets.UTF_8), path);
        return "edited " + path + " (" + (all ? count : 1) + " replacement(s))";
    }

    private String glob(JsonNode in) throws ToolException, DriverException {
        String pattern = text(in, "pattern");
        if (pattern.startsWith("/")) {
            throw new ToolException("absolute pattern not permitted; pass a relative pattern (and optionally path)");
        }
        if (List.of(pattern.split("[\\\\/{},]")).contains("..")) {
            throw new ToolException("\"..\" is not permitted in the pattern");
        }
        String base = in.hasNonNull("path") ? paths.path(in.get("path").asText()) : "";
        PathMatcher matcher = globstar(pattern);
        List<FileEntry> found = new ArrayList<>();
        for (FileEntry e : walk(base)) {
            String under = relativeTo(base, e.path());
            if (e.type() != FileEntry.Type.DIRECTORY && matcher.matches(Path.of(under))) {
                found.add(e);
            }
        }
        if (found.isEmpty()) {
            return "no matches";
        }
        found.sort(Comparator.comparing(FileEntry::modifiedAt).reversed());
        StringBuilder out = new StringBuilder();
        for (FileEntry e : found.subList(0, Math.min(GLOB_RESULTS, found.size()))) {
            out.append(out.isEmpty() ? "" : "\n").append(Workdir.shown(e.path()));
        }
        return out.toString();
    }

    /** At most this many '**' + '/' in one pattern (each doubles the matchers). */
    static final int MAX_GLOBSTARS = 6;

    /**
     * A matcher where each '**' + '/' also matches no directory at all, as Node's {@code fs.glob}
     * (the SDK's glob) and shells' globstar do: {@code g/**}{@code /*.md} takes {@code g/new.md}.
     * The JDK's glob needs at least one directory there, so the pattern is matched in each of
     * its forms with some of them left out.
     */
    static PathMatcher globstar(String pattern) throws ToolException {
        List<String> forms = new ArrayList<>(List.of(pattern));
        int stars = 0;
        for (int at = pattern.indexOf("**/"); at >= 0; at = pattern.indexOf("**/", at + 3)) {
            if (at > 0 && pattern.charAt(at - 1) != '/') {
                continue; // 'a**/' is not a globstar
            }
            if (++stars > MAX_GLOBSTARS) {
                throw new ToolException("pattern '" + pattern + "' has over " + MAX_GLOBSTARS + " '**/' (expected fewer)");
            }
            int cut = at;
            List<String> more = new ArrayList<>();
            for (String f : forms) {
                // Cut the same occurrence in each form: its position shifts by what earlier cuts removed.
                int shift = pattern.length() - f.length();
                int k = f.indexOf("**/", Math.max(0, cut - shift));
                if (k >= 0) {
                    more.add(f.substring(0, k) + f.substring(k + 3));
                }
            }
            forms.addAll(more);
        }
        List<PathMatcher> matchers = new ArrayList<>();
        try {
            for (String f : forms) {
                matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + f));
            }
        } catch (IllegalArgumentException e) {
            throw new ToolException("pattern '" + pattern + "' is not a glob: " + e.getMessage());
        }
        return p -> matchers.stream().anyMatch(m -> m.matches(p));
    }

    private String grep(JsonNode in) throws ToolException, DriverException {
        String pattern = text(in, "pattern");
        Pattern re;
        try {
            re = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw new ToolException("pattern is not a regular expression: " + e.getDescription());
        }
        String base = in.hasNonNull("path") ? paths.path(in.get("path").asText()) : "";
        List<FileEntry> files = new ArrayList<>();
        FileEntry top = sandboxes.stat(sandboxId, base);
        if (top.type() == FileEntry.Type.REGULAR) {
            files.add(top);
        } else {
            for (FileEntry e : walk(base)) {
                if (e.type() == FileEntry.Type.REGULAR && e.size() <= GREP_FILE_MAX) {
                    files.add(e);
                }
            }
            files.sort(Comparator.comparing(FileEntry::path));
        }
        StringBuilder out = new StringBuilder();
        long deadline = System.nanoTime() + CALL_BOUND.toNanos();
        for (FileEntry f : files) {
            if (System.nanoTime() > deadline) {
                return out + "\n[search stopped after " + CALL_BOUND.toSeconds() + " s; narrow path or pattern]";
            }
            try (BoundedLines r = new BoundedLines(sandboxes.openRead(sandboxId, f.path()), GREP_LINE)) {
                String line;
                for (int n = 1; (line = r.next()) != null; n++) {
                    if (line.indexOf('\0') >= 0) {
                        break; // binary: not searched further
                    }
                    if (!r.tooLong() && re.matcher(line).find()) {
                        out.append(Workdir.shown(f.path())).append(':').append(n).append(':').append(line).append('\n');
                        if (out.length() > GREP_OUTPUT) {
                            out.setLength(GREP_OUTPUT);
                            return out + "\n[output truncated at " + GREP_OUTPUT + " bytes]";
                        }
                    }
                }
            } catch (IOException | DriverException e) {
                // a file that vanished or cannot be read is skipped, as grep -s would
            }
        }
        return out.isEmpty() ? "no matches" : out.toString().stripTrailing();
    }

    /** Everything under {@code base}, as the driver lists it (bounded by the driver's listing cap). */
    private List<FileEntry> walk(String base) throws DriverException {
        return sandboxes.listFiles(sandboxId, base, true);
    }

    private static String relativeTo(String base, String path) {
        return base.isEmpty() ? path : path.startsWith(base + "/") ? path.substring(base.length() + 1) : path;
    }

    private FileEntry regularFile(String rel, String shown) throws ToolException, DriverException {
        FileEntry st = sandboxes.stat(sandboxId, rel);
        if (st.type() == FileEntry.Type.SYMLINK) {
            // Follow it only inside the workspace: the driver refuses a link that leads out on open.
            try (InputStream probe = sandboxes.openRead(sandboxId, rel)) {
                return new FileEntry(rel, FileEntry.Type.REGULAR, st.size(), st.modifiedAt());
            } catch (IOException e) {
                throw new ToolException("cannot read " + shown + ": " + e.getMessage());
            }
        }
        if (st.type() != FileEntry.Type.REGULAR) {
            throw new ToolException(shown + " is not a regular file");
        }
        return st;
    }

    private byte[] readAll(String rel, int cap) throws ToolException, DriverException {
        try (InputStream in = sandboxes.openRead(sandboxId, rel)) {
            byte[] b = in.readNBytes(cap + 1);
            if (b.length > cap) {
                throw new ToolException(Workdir.shown(rel) + " grew past " + cap + " bytes while being read");
            }
            return b;
        } catch (IOException e) {
            throw new ToolException("cannot read " + Workdir.shown(rel) + ": " + e.getMessage());
        }
    }

    private void put(String rel, byte[] content, String shown) throws ToolException, DriverException {
        FileUpload up = sandboxes.openWrite(sandboxId, rel, 0644);
        try {
            up.write(content);
            up.close();
        } catch (IOException e) {
            up.abort();
            throw new ToolException("cannot write " + shown + ": " + e.getMessage());
        }
    }

    private static String utf8(byte[] b, String shown) throws ToolException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new ToolException(shown + " is not UTF-8 text");
        }
    }

    private static String text(JsonNode in, String field) throws ToolException {
        JsonNode v = in.path(field);
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw new ToolException(field + " is required (a string)");
        }
        return v.asText();
    }

    @Override
    public void close() {
        closed = true;
        shells.values().forEach(BashShell::close);
    }
}
