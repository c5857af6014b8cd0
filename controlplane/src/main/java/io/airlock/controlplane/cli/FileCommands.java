package io.airlock.controlplane.cli;

import static io.airlock.controlplane.cli.ControlPlaneCommand.*;

import com.google.protobuf.ByteString;
import io.airlock.controlplane.admin.v1.CopyInChunk;
import io.airlock.controlplane.admin.v1.CopyInHeader;
import io.airlock.controlplane.admin.v1.CopyOutChunk;
import io.airlock.controlplane.admin.v1.CopyOutRequest;
import io.airlock.controlplane.admin.v1.ExecEvent;
import io.airlock.controlplane.admin.v1.ExecRequest;
import io.airlock.controlplane.admin.v1.ListFilesRequest;
import io.airlock.controlplane.admin.v1.StatRequest;
import io.airlock.notation.Durations;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileEntry;
import io.airlock.proto.v1.FileList;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.ListFiles;
import io.airlock.proto.v1.OutputStream;
import io.airlock.proto.v1.StartExec;
import io.airlock.proto.v1.StatFile;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Commands that run or move bytes in a sandbox: exec, cp, files, stat. */
final class FileCommands {
    private FileCommands() {}

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = "Run a command in a sandbox, streaming its output; exits with the command's exit code.")
    static final class Exec extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1..*", arity = "1..*", description = "Command and arguments (put -- before them)")
        List<String> argv = new ArrayList<>();

        @Option(names = "--stdin", description = "Send this terminal's stdin (up to 4 MiB) to the command")
        boolean stdin;

        @Option(names = "--cwd", description = "Working directory relative to the workspace")
        String cwd = "";

        @Option(names = "--timeout", description = "Kill the command after this long, e.g. 30s; default: the agent's policy")
        String timeout;

        @Override
        int run(AdminConnection admin) throws Exception {
            ExecRequest.Builder req = ExecRequest.newBuilder().setAgentId(opts.agent)
                    .setExec(StartExec.newBuilder().setSandboxId(id).addAllArgv(argv).setWorkingDir(cwd)
                            .setTimeoutMs(timeout == null ? 0 : Durations.parse(timeout).toMillis()));
            if (stdin) {
                req.setStdin(ByteString.readFrom(System.in));
            }
            ExecResult result = null;
            Iterator<ExecEvent> events = admin.blocking.exec(req.build());
            while (events.hasNext()) {
                ExecEvent e = events.next();
                if (e.hasOutput()) {
                    if (opts.json) {
                        out().println(json(e));
                    } else {
                        out().bytes(e.getOutput().getStream() == OutputStream.STDERR, e.getOutput().getData());
                    }
                } else if (e.hasResult()) {
                    result = e.getResult();
                }
            }
            if (result == null) {
                out().errln("error: the exec ended without a result");
                return 1;
            }
            if (opts.json) {
                out().println(json(result));
            } else if (result.getTimedOut() || result.getOutputTruncated()) {
                out().errln("[" + (result.getTimedOut() ? "timed out" : "") + (result.getTimedOut() && result.getOutputTruncated() ? ", " : "")
                        + (result.getOutputTruncated() ? "output truncated" : "") + "]");
            }
            return result.getExitCode();
        }
    }

    @Command(name = "cp", mixinStandardHelpOptions = true,
            description = {"Copy a file into or out of a sandbox: 'cp LOCAL SANDBOX:PATH' or 'cp SANDBOX:PATH LOCAL'.",
                "With --tar, LOCAL is a tar archive: extracted into directory SANDBOX:PATH, or written from a file or directory there."})
    static final class Copy extends AdminCall {
        @Option(names = "--tar", description = "Move a tar archive (e.g. 'tar -C dir -cf dir.tar .' locally, then 'cp --tar dir.tar box:dest')")
        boolean tar;

        @Parameters(index = "0", description = "Source")
        String from;

        @Parameters(index = "1", description = "Destination")
        String to;

        @Override
        int run(AdminConnection admin) throws Exception {
            boolean upload = to.contains(":") && !from.contains(":");
            boolean download = from.contains(":") && !to.contains(":");
            if (!upload && !download) {
                out().errln("error: exactly one of source and destination must be SANDBOX:PATH");
                return 2;
            }
            FileResult r = upload ? upload(admin, Path.of(from), to.substring(0, to.indexOf(':')), to.substring(to.indexOf(':') + 1))
                    : download(admin, from.substring(0, from.indexOf(':')), from.substring(from.indexOf(':') + 1), Path.of(to));
            out().println(opts.json ? json(r) : r.getPath() + ": " + r.getSize() + " bytes, sha256 " + r.getSha256());
            return 0;
        }

        private FileResult upload(AdminConnection admin, Path local, String sandbox, String path) throws Exception {
            CompletableFuture<FileResult> result = new CompletableFuture<>();
            StreamObserver<CopyInChunk> out = admin.async.copyIn(new StreamObserver<>() {
                @Override
                public void onNext(FileResult r) {
                    result.complete(r);
                }

                @Override
                public void onError(Throwable t) {
                    result.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {}
            });
            out.onNext(CopyInChunk.newBuilder().setHeader(CopyInHeader.newBuilder().setAgentId(opts.agent).setSandboxId(sandbox).setPath(path)
                    .setArchive(tar)).build());
            try (InputStream in = Files.newInputStream(local)) {
                byte[] buf = new byte[32 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.onNext(CopyInChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build());
                }
            }
            out.onCompleted();
            try {
                return result.get(15, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof StatusRuntimeException s ? s : new IllegalStateException(e.getCause());
            }
        }

        private FileResult download(AdminConnection admin, String sandbox, String path, Path local) throws Exception {
            FileResult result = null;
            Path part = local.resolveSibling(local.getFileName() + ".part");
            try (var out = Files.newOutputStream(part)) {
                Iterator<CopyOutChunk> chunks = admin.blocking.copyOut(CopyOutRequest.newBuilder().setAgentId(opts.agent)
                        .setSandboxId(sandbox).setPath(path).setArchive(tar).build());
                while (chunks.hasNext()) {
                    CopyOutChunk c = chunks.next();
                    if (c.hasResult()) {
                        result = c.getResult();
                    } else {
                        c.getData().writeTo(out);
                    }
                }
            } catch (RuntimeException e) {
                Files.deleteIfExists(part);
                throw e;
            }
            Files.move(part, local, StandardCopyOption.REPLACE_EXISTING);
            return result;
        }
    }

    @Command(name = "files", mixinStandardHelpOptions = true, description = "List files in a sandbox's workspace.")
    static final class ListWorkspace extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1", arity = "0..1", description = "Directory relative to the workspace")
        String path = "";

        @Option(names = {"-r", "--recursive"}, description = "Descend into directories")
        boolean recursive;

        @Override
        int run(AdminConnection admin) {
            FileList l = admin.blocking.listFiles(ListFilesRequest.newBuilder().setAgentId(opts.agent)
                    .setList(ListFiles.newBuilder().setSandboxId(id).setPath(path).setRecursive(recursive)).build());
            if (opts.json) {
                out().println(json(l));
                return 0;
            }
            for (FileEntry e : l.getEntriesList()) {
                out().printf("%-9s %10d  %s%n", e.getType(), e.getSize(), e.getPath());
            }
            return 0;
        }
    }

    @Command(name = "stat", mixinStandardHelpOptions = true, description = "Type, size and modification time of a workspace path.")
    static final class Stat extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1", description = "Path relative to the workspace")
        String path;

        @Override
        int run(AdminConnection admin) {
            FileEntry e = admin.blocking.stat(StatRequest.newBuilder().setAgentId(opts.agent)
                    .setStat(StatFile.newBuilder().setSandboxId(id).setPath(path)).build());
            out().println(opts.json ? json(e) : String.format("%-9s %10d  %s  %s", e.getType(), e.getSize(),
                    Instant.ofEpochMilli(e.getModifiedAtMs()), e.getPath()));
            return 0;
        }
    }
}
