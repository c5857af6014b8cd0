package io.airlock.controlplane.gateway;

import io.airlock.proto.support.ReadyGate;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.Welcome;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Accepts agents' Control and Data streams; the agent's identity comes from its client certificate. */
public final class AgentGatewayService extends AgentGatewayGrpc.AgentGatewayImplBase {
    private static final Logger log = LoggerFactory.getLogger(AgentGatewayService.class);

    private final AgentRegistry registry;

    public AgentGatewayService(AgentRegistry registry) {
        this.registry = registry;
    }

    @Override
    public StreamObserver<AgentMessage> control(StreamObserver<ControlPlaneMessage> responses) {
        String agentId = ClientIdentity.AGENT_ID.get();
        AgentSession session = new AgentSession(agentId, UUID.randomUUID().toString(),
                (ServerCallStreamObserver<ControlPlaneMessage>) responses);
        return new StreamObserver<>() {
            private boolean greeted;

            @Override
            public void onNext(AgentMessage message) {
                if (!greeted) {
                    if (!message.hasHello()) {
                        session.close(Status.INVALID_ARGUMENT.withDescription("expected Hello as the first message, got " + message.getBodyCase()));
                        return;
                    }
                    if (!message.getHello().getAgentId().equals(agentId)) {
                        session.close(Status.PERMISSION_DENIED.withDescription("Hello names agent '" + message.getHello().getAgentId()
                                + "' but the client certificate is for '" + agentId + "'"));
                        return;
                    }
                    greeted = true;
                    session.hello(message.getHello());
                    session.send(ControlPlaneMessage.newBuilder().setWelcome(Welcome.newBuilder()
                            .setSessionId(session.sessionId()).setResumeToken(session.sessionId())).build());
                    log.info("agent {} connected (version {}, {} sandboxes)", agentId, message.getHello().getVersion(),
                            message.getHello().getInventoryCount());
                    registry.register(session);
                    return;
                }
                registry.onAgentMessage(session, message);
            }

            @Override
            public void onError(Throwable t) {
                log.info("agent {} control stream ended: {}", agentId, Status.fromThrowable(t));
                registry.unregister(session, Status.fromThrowable(t).toString());
            }

            @Override
            public void onCompleted() {
                log.info("agent {} closed its control stream", agentId);
                registry.unregister(session, "closed by the agent");
                session.close(Status.OK);
            }
        };
    }

    @Override
    public StreamObserver<DataFrame> data(StreamObserver<DataFrame> toAgentPlain) {
        String agentId = ClientIdentity.AGENT_ID.get();
        ServerCallStreamObserver<DataFrame> toAgent = (ServerCallStreamObserver<DataFrame>) toAgentPlain;
        ReadyGate gate = new ReadyGate(toAgent);
        toAgent.setOnReadyHandler(gate::signal);
        toAgent.setOnCancelHandler(gate::cancel);
        return new StreamObserver<>() {
            private DataStreamHandler handler;

            @Override
            public void onNext(DataFrame frame) {
                if (handler == null) {
                    if (!frame.hasOpen()) {
                        toAgent.onError(Status.INVALID_ARGUMENT.withDescription("expected DataOpen as the first frame").asRuntimeException());
                        return;
                    }
                    handler = registry.claimDataStream(agentId, frame.getOpen().getCommandId());
                    if (handler == null) {
                        toAgent.onError(Status.NOT_FOUND.withDescription("no operation waits for a data stream for command '"
                                + frame.getOpen().getCommandId() + "'").asRuntimeException());
                        return;
                    }
                    handler.opened(toAgent, gate);
                    return;
                }
                handler.onFrame(frame);
            }

            @Override
            public void onError(Throwable t) {
                gate.cancel();
                if (handler != null) {
                    handler.streamBroken(t);
                }
            }

            @Override
            public void onCompleted() {
                if (handler != null) {
                    handler.closed(null);
                }
            }
        };
    }
}
