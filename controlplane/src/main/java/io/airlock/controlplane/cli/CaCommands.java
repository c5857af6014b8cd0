package io.airlock.controlplane.cli;

import static io.airlock.controlplane.cli.ControlPlaneCommand.*;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.notation.Durations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code airlock cp ca} and {@code cp cert issue}: the control plane's CA, offline (they read its state directory). */
final class CaCommands {
    private CaCommands() {}

    @Command(name = "ca", mixinStandardHelpOptions = true,
            description = {"Rotate the control plane's CA in three steps; each takes effect at the next 'cp serve' start.",
                "begin: make the next CA; both are trusted and handed to agents on enrolment and renewal.",
                "finish (once every agent renewed): the next CA signs; the old one stays trusted.",
                "retire (once the old CA's certificates expired): stop trusting the old CA."})
    static final class Ca extends CliCommand {
        @CommandLine.Parameters(index = "0", description = "begin, finish or retire")
        String step;

        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Override
        public Integer call() throws Exception {
            switch (step) {
                case "begin" -> CertificateAuthority.beginRotation(stateDir);
                case "finish" -> CertificateAuthority.finishRotation(stateDir);
                case "retire" -> CertificateAuthority.retirePrevious(stateDir);
                default -> throw new CommandLine.ParameterException(new CommandLine(this),
                        "unknown step '" + step + "' (expected: begin, finish or retire)");
            }
            CertificateAuthority ca = CertificateAuthority.loadOrCreate(stateDir);
            out().println("CA rotation step '" + step + "' done; restart 'airlock cp serve' to apply it. Signing CA: "
                    + ca.certificate().getSubjectX500Principal().getName() + " (pin " + ca.pin() + "); trusted: " + ca.bundle().size());
            return 0;
        }
    }

    @Command(name = "cert", mixinStandardHelpOptions = true,
            description = "Server certificates from this control plane's CA, for another control plane that serves its agents.",
            subcommands = CertIssue.class)
    static final class Cert {}

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = {"Write a TLS server certificate signed by this control plane's CA (serverAuth, the names given as",
                "subject alternative names; the file holds the chain: the certificate, then the CA) and its key (0600).",
                "Agents enrolled here trust it; they check the names against the address they dial, and an enrolling agent",
                "finds the CA its join token pins in that chain. Reads the CA in --state-dir; starts nothing."})
    static final class CertIssue extends CliCommand {
        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Option(names = "--san", required = true, paramLabel = "NAME",
                description = "A DNS name or IP address agents dial (repeat for more); the first is also the subject's CN")
        List<String> names;

        @Option(names = "--cert", required = true, paramLabel = "FILE", description = "Where to write the PEM chain")
        Path cert;

        @Option(names = "--key", required = true, paramLabel = "FILE", description = "Where to write the PEM key (mode 0600)")
        Path key;

        @Option(names = "--validity", paramLabel = "DURATION", description = "How long it is valid, e.g. 90d. Default: ${DEFAULT-VALUE}")
        String validity = "365d";

        @Override
        public Integer call() throws Exception {
            if (!Files.exists(stateDir.resolve("ca.crt"))) {
                out().errln("error: no CA in " + stateDir + " (expected: the state directory of 'airlock cp serve'; give --state-dir)");
                return 2;
            }
            CertificateAuthority ca = CertificateAuthority.loadOrCreate(stateDir);
            CertificateAuthority.IssuedIdentity issued;
            try {
                issued = ca.issueServer(names, Durations.parse(validity));
            } catch (IllegalStateException | IllegalArgumentException e) {
                out().errln("error: cannot issue for " + names + ": " + e.getMessage() + " (expected: DNS names or IP addresses)");
                return 2;
            }
            CertificateAuthority.writePrivate(key, CertificateAuthority.toPem(new JcaPKCS8Generator(issued.key(), null)));
            Files.writeString(cert, CertificateAuthority.toPem(issued.chain().toArray()));
            out().println("wrote " + cert + " (names " + names + ", valid until " + issued.chain().get(0).getNotAfter().toInstant()
                    + ", CA pin " + ca.pin() + ") and its key " + key);
            return 0;
        }
    }
}
