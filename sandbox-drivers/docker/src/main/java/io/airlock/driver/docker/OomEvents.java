package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import io.airlock.driver.DriverEvent;
import java.io.Closeable;
import java.io.IOException;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the engine's {@code oom} events for this agent's containers and reports each as an
 * {@link DriverEvent.Kind#OOM_KILL}. The stream ends when the engine goes away; the driver
 * subscribes again when it recovers.
 */
final class OomEvents implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OomEvents.class);

    private final DockerClient docker;
    private final String agentId;
    private final Function<Map<String, String>, String> sandboxOf;
    private final Consumer<DriverEvent> sink;
    private volatile Closeable subscription;

    /** @param sandboxOf the sandbox id from an event's actor attributes (labels and name), or null */
    OomEvents(DockerClient docker, String agentId, Function<Map<String, String>, String> sandboxOf, Consumer<DriverEvent> sink) {
        this.docker = docker;
        this.agentId = agentId;
        this.sandboxOf = sandboxOf;
        this.sink = sink;
    }

    synchronized void subscribe() {
        closeSubscription();
        try {
            subscription = docker.eventsCmd()
                    .withEventFilter("oom")
                    .withLabelFilter(Map.of(DockerDriver.LABEL_AGENT, agentId))
                    .exec(new ResultCallback.Adapter<Event>() {
                        @Override
                        public void onNext(Event event) {
                            Map<String, String> attributes = event.getActor() == null ? Map.of() : event.getActor().getAttributes();
                            String sandbox = sandboxOf.apply(attributes == null ? Map.of() : attributes);
                            if (sandbox != null) {
                                sink.accept(new DriverEvent(sandbox, DriverEvent.Kind.OOM_KILL,
                                        "a process was killed: the sandbox reached its memory limit"));
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            // The stream ends when the engine goes away; the watch re-subscribes on recovery.
                            log.debug("engine event stream ended: {}", t.toString());
                            try {
                                close();
                            } catch (IOException e) {
                                log.debug("closing the event stream: {}", e.toString());
                            }
                        }
                    });
        } catch (RuntimeException e) {
            log.warn("cannot follow engine events ({}); OOM kills will not be reported until the engine recovers", e.toString());
        }
    }

    private void closeSubscription() {
        Closeable s = subscription;
        subscription = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                log.debug("closing the event stream: {}", e.toString());
            }
        }
    }

    @Override
    public synchronized void close() {
        closeSubscription();
    }
}
