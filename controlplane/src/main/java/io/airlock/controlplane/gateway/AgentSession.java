package io.airlock.controlplane.gateway;

import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.Hello;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Instant;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Control stream from one agent. Sends are serialised and bounded: messages wait in a
 * small queue while the agent's window is full; an agent that stops reading for long enough
 * to fill it is disconnected rather than buffered for without limit.
 */
public final class AgentSession {
    private static final Logger log = LoggerFactory.getLogger(AgentSession.class);
    static final int MAX_QUEUED = 1024;

    private final String agentId;
    private final String sessionId;
    private final ServerCallStreamObserver<ControlPlaneMessage> out;
    private final Instant connectedAt = Instant.now();
    private final ArrayDeque<ControlPlaneMessage> queue = new ArrayDeque<>();
    private volatile Hello hello;
    private boolean closed;

    AgentSession(String agentId, String sessionId, ServerCallStreamObserver<ControlPlaneMessage> out) {
        this.agentId = agentId;
        this.sessionId = sessionId;
        this.out = out;
        out.setOnReadyHandler(this::flush);
    }

    public String agentId() {
        return agentId;
    }

    public String sessionId() {
        return sessionId;
    }

    public Instant connectedAt() {
        return connectedAt;
    }

    public Hello hello() {
        return hello;
    }

    void hello(Hello hello) {
        this.hello = hello;
    }

    synchronized void send(ControlPlaneMessage message) {
        if (closed) {
            return;
        }
        if (queue.size() >= MAX_QUEUED) {
            log.warn("agent {} is not reading its control stream ({} messages queued); disconnecting", agentId, MAX_QUEUED);
            close(Status.RESOURCE_EXHAUSTED.withDescription("control stream backlog exceeded " + MAX_QUEUED + " messages"));
            return;
        }
        queue.add(message);
        flush();
    }

    private synchronized void flush() {
        while (!closed && !queue.isEmpty() && out.isReady()) {
            out.onNext(queue.poll());
        }
    }

    synchronized void close(Status status) {
        if (closed) {
            return;
        }
        closed = true;
        queue.clear();
        try {
            if (status.isOk()) {
                out.onCompleted();
            } else {
                out.onError(status.asRuntimeException());
            }
        } catch (IllegalStateException e) {
            // already cancelled by the peer
        }
    }

    synchronized boolean isClosed() {
        return closed;
    }

    void markClosed() {
        synchronized (this) {
            closed = true;
            queue.clear();
        }
    }
}
