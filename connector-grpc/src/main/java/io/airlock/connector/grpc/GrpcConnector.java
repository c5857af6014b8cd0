package io.airlock.connector.grpc;

import io.airlock.core.config.DaemonConfig;
import io.airlock.core.work.AgentEvent;
import io.airlock.core.work.Connector;
import io.airlock.core.work.DataChannel;
import io.airlock.core.work.Outcome;
import io.airlock.core.work.WorkException;
import io.airlock.core.work.WorkRunner;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.AuditAnchor;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.Hello;
import io.grpc.ManagedChannel;
import java.util.function.Supplier;

/**
 * The airlock.v1 connector: commands from the Control stream are decoded once and handed to the
 * work runner; outcomes and events go back as CommandResult and Event messages; byte-moving work
 * gets a Data stream each.
 */
public final class GrpcConnector implements Connector {
    private final ControlConnection connection;

    /**
     * @param auditAnchor the newest audit record on disk, sent with every Ping for the control plane
     *                    to keep outside this host (null: none yet)
     */
    public GrpcConnector(WorkRunner runner, DaemonConfig.ControlPlane config, Supplier<ManagedChannel> channels, Supplier<Hello> hello,
            Supplier<AuditAnchor> auditAnchor, ConnectionListener listener) {
        this.connection = new ControlConnection(config, channels, hello, auditAnchor, new ControlConnection.CommandSink() {
            @Override
            public void onCommand(Command command) {
                runner.submit(ProtoCodec.work(command), GrpcConnector.this);
            }

            @Override
            public int inFlight() {
                return runner.inFlight();
            }
        }, listener);
    }

    /** The Control stream, for the daemon's lifecycle (start, drain notice, close). */
    public ControlConnection connection() {
        return connection;
    }

    @Override
    public void reply(String workId, Outcome outcome) {
        connection.send(AgentMessage.newBuilder().setResult(ProtoCodec.result(workId, outcome)).build());
    }

    @Override
    public void event(AgentEvent event) {
        connection.send(AgentMessage.newBuilder().setEvent(ProtoCodec.event(event)).build());
    }

    @Override
    public DataChannel openData(String workId, long deadlineMs, DataChannel.Inbound inbound) throws WorkException {
        return connection.dataChannel(workId, deadlineMs, inbound);
    }
}
