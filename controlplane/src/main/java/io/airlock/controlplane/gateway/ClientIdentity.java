package io.airlock.controlplane.gateway;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Requires a verified client certificate on AgentGateway and Certificates calls and puts its CN (the agent id)
 * in the call context. The TLS layer already refused certificates from other CAs and expired
 * ones; the server asks for client certificates optionally only so that Enrollment (which
 * has none yet) can share the port.
 */
public final class ClientIdentity implements ServerInterceptor {
    public static final Context.Key<String> AGENT_ID = Context.key("airlock-agent-id");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        String agentId = null;
        if (ssl != null) {
            try {
                Certificate[] chain = ssl.getPeerCertificates();
                if (chain.length > 0 && chain[0] instanceof X509Certificate leaf) {
                    agentId = commonName(leaf);
                }
            } catch (SSLPeerUnverifiedException e) {
                agentId = null;
            }
        }
        if (agentId == null) {
            call.close(Status.UNAUTHENTICATED.withDescription(
                    "this call needs a client certificate issued by this control plane; enrol first ('airlock enroll')"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current().withValue(AGENT_ID, agentId), call, headers, next);
    }

    static String commonName(X509Certificate cert) {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }
}
