package io.airlock.daemon.cli;

import io.airlock.core.config.ConfigException;
import io.airlock.core.config.ConfigReload;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.logging.OperationalLog;
import io.airlock.daemon.Daemon;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import sun.misc.Signal;

/** {@code airlock run}: the daemon in the foreground (systemd runs it like this). */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the agent: connect out to the control plane and serve its commands.",
            "First SIGTERM/SIGINT drains (no new work, in-flight work gets drain.grace_period, the control plane is told);",
            "a second one stops at once. Sandboxes keep running either way.",
            "SIGHUP reloads the configuration: log, drain and policy take effect for new work; connections stay up.",
            "Logs go to stdout (log.format json or text, log.level)."})
public final class RunCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    ConfigOptions options = new ConfigOptions();

    @Override
    public Integer call() throws Exception {
        DaemonConfig config = options.load();
        OperationalLog.apply(config.log());
        // SIGHUP is handled from the first moment: the JVM's default for it is to exit, and a reload
        // asked for while the daemon still starts must not stop it.
        AtomicReference<Daemon> started = new AtomicReference<>();
        sun.misc.SignalHandler before = Signal.handle(new Signal("HUP"), sig -> Thread.ofPlatform().name("reload").start(() -> {
            Daemon d = started.get();
            if (d == null) {
                log.warn("SIGHUP while starting: the configuration read at start stays; send it again once the daemon runs");
            } else {
                reload(d);
            }
        }));
        if (before == sun.misc.SignalHandler.SIG_IGN) {
            // The JVM keeps a signal ignored that the process inherited ignored (nohup does that).
            log.warn("SIGHUP is ignored in this process (started under nohup?), so 'kill -HUP' cannot reload the configuration; "
                    + "start airlock run without nohup (systemd does), or restart it to apply a change");
        }
        Daemon daemon = Daemon.start(config);
        started.set(daemon);
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicInteger signals = new AtomicInteger();
        // sun.misc.Signal rather than a shutdown hook: the JVM ignores further signals once hooks run,
        // and the second signal must be able to cut the drain short.
        sun.misc.SignalHandler handler = sig -> {
            if (signals.incrementAndGet() == 1) {
                Thread.ofPlatform().name("drain").start(() -> {
                    daemon.drain("SIG" + sig.getName());
                    stopped.countDown();
                });
            } else {
                log.warn("second SIG{}: stopping now", sig.getName());
                daemon.stop();
                stopped.countDown();
            }
        };
        Signal.handle(new Signal("TERM"), handler);
        Signal.handle(new Signal("INT"), handler);
        stopped.await();
        return 0;
    }

    /** SIGHUP: read the file again; apply what can change live, name what waits for a restart, keep everything on a bad file. */
    private void reload(Daemon daemon) {
        DaemonConfig next;
        try {
            next = options.load();
        } catch (ConfigException | RuntimeException e) {
            log.error("configuration reload refused, the running configuration stays: {}", e.getMessage());
            daemon.reloadRefused(e.getMessage());
            return;
        }
        OperationalLog.apply(next.log());
        ConfigReload.Result r = daemon.reload(next);
        log.info("configuration reloaded: applied {}; waiting for a restart: {}", r.applied().isEmpty() ? "nothing changed" : r.applied(),
                r.restartNeeded().isEmpty() ? "nothing" : r.restartNeeded());
        log.debug("log level now {}, format {}", next.log().level(), next.log().format());
    }
}
