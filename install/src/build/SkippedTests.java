import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The end of `mvn verify`: every test this build skipped, with the reason it gave (for a missing
 * prerequisite: what, and how to install it), read from the Surefire and Failsafe reports the build
 * wrote. Run by the last module of the reactor as a single-file program:
 *   java SkippedTests.java REPO_ROOT BUILD_START_ISO8601
 * Reports older than the build's start belong to an earlier build and are left out.
 */
public final class SkippedTests {
    record Skipped(String test, String reason) {}

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Instant since = args.length > 1 && !args[1].isBlank() ? Instant.parse(args[1]).minusSeconds(1) : Instant.EPOCH;
        List<Skipped> skipped = new ArrayList<>();
        int reports = 0;
        try (Stream<Path> files = Files.walk(root, 6)) {
            for (Path f : files.filter(SkippedTests::isReport).sorted().toList()) {
                if (Files.getLastModifiedTime(f).toInstant().isBefore(since)) {
                    continue;
                }
                reports++;
                read(f, skipped);
            }
        }
        String rule = "-".repeat(72);
        System.out.println(rule);
        if (skipped.isEmpty()) {
            System.out.println("Skipped tests: none (" + reports + " test reports read)");
        } else {
            System.out.println("Skipped tests: " + skipped.size() + " (each with its reason; a missing prerequisite fails instead with "
                    + "-Dairlock.requirePrerequisites=true, as `./airlock test` runs; it also installs them)");
            for (Skipped s : skipped) {
                System.out.println("  " + s.test() + ": " + s.reason());
            }
        }
        System.out.println(rule);
    }

    /**
     * Why: the message attribute, or (Surefire 3 writes an aborted test so) the first line of the
     * element's text, the exception's "type: message", without the type.
     */
    static String reason(Element skipped) {
        String message = skipped.getAttribute("message").strip();
        if (message.isEmpty()) {
            String text = skipped.getTextContent().strip();
            message = text.isEmpty() ? "" : text.lines().findFirst().orElse("");
            String type = skipped.getAttribute("type");
            if (!type.isEmpty() && message.startsWith(type + ": ")) {
                message = message.substring(type.length() + 2);
            }
        }
        return message.isBlank() ? "(no reason given: @Disabled or an assumption without a message)" : message.strip();
    }

    private static boolean isReport(Path f) {
        // The walk starts with the root itself, and a root one level below / (/src, say) has a parent without a name.
        Path parent = f.getParent();
        String name = f.getFileName() == null ? "" : f.getFileName().toString();
        String dir = parent == null || parent.getFileName() == null ? "" : parent.getFileName().toString();
        return name.startsWith("TEST-") && name.endsWith(".xml") && (dir.equals("surefire-reports") || dir.equals("failsafe-reports"))
                && !f.toString().contains("/node_modules/");
    }

    private static void read(Path report, List<Skipped> into) throws Exception {
        Element suite;
        try {
            suite = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(report.toFile()).getDocumentElement();
        } catch (IOException | org.xml.sax.SAXException e) {
            into.add(new Skipped(report.toString(), "unreadable report (" + e.getMessage() + ")"));
            return;
        }
        NodeList cases = suite.getElementsByTagName("testcase");
        for (int i = 0; i < cases.getLength(); i++) {
            Element c = (Element) cases.item(i);
            NodeList skip = c.getElementsByTagName("skipped");
            if (skip.getLength() == 0) {
                continue;
            }
            String cls = c.getAttribute("classname");
            into.add(new Skipped(cls.substring(cls.lastIndexOf('.') + 1) + "." + c.getAttribute("name"), reason((Element) skip.item(0))));
        }
    }
}
