package io.airlock.core.work;

import io.airlock.core.audit.AuditTrail;
import io.airlock.driver.DriverEvent;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxState;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Events for every connected caller: sandbox lifecycle (also audited), what drivers notice, and
 * what work reports. Made before the drivers and the sandbox service that report to it; each
 * connector subscribes when it is made.
 */
public final class AgentEvents {
    private static final Logger log = LoggerFactory.getLogger(AgentEvents.class);

    private final AuditTrail audit;
    private final List<Connector> subscribers = new CopyOnWriteArrayList<>();

    public AgentEvents(AuditTrail audit) {
        this.audit = audit;
    }

    public void subscribe(Connector connector) {
        subscribers.add(connector);
    }

    public void publish(AgentEvent event) {
        for (Connector c : subscribers) {
            c.event(event);
        }
    }

    /** A sandbox changed state: audited, then told. */
    public void sandboxChanged(Sandbox sandbox, SandboxState state, String reason) {
        audit.record("sandbox", Map.of("sandbox_id", sandbox.id(), "driver", sandbox.driver(), "state", state.name(), "reason", reason));
        publish(new AgentEvent.SandboxChanged(sandbox.id(), state.name(), reason));
    }

    /** Something a driver noticed about a sandbox (an OOM kill, image pull progress). */
    public void driverEvent(DriverEvent e) {
        switch (e.kind()) {
            case OOM_KILL -> {
                log.info("sandbox {}: {}", e.sandboxId(), e.detail());
                publish(new AgentEvent.OomKill(e.sandboxId(), e.detail()));
            }
            case IMAGE_PULL -> {
                var p = e.pull();
                publish(new AgentEvent.ImagePull(e.sandboxId(), p.image(), p.layer(), p.status(), p.current(), p.total()));
            }
        }
    }

    /** A driver went down or came back. */
    public void driverChanged(String driver, boolean available, String reason) {
        log.info("driver {} is {}{}", driver, available ? "available again" : "unavailable", available ? "" : ": " + reason);
        publish(new AgentEvent.DriverStatus(driver, available, reason));
    }
}
