package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Network;
import io.airlock.driver.DriverException;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.EgressPort;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The network egress-enabled sandboxes sit on: a Docker bridge network marked internal (no
 * route out, no NAT, no IPv6) without inter-container traffic, whose gateway address on the
 * host is where the daemon's egress proxy listens. A connection is traced to its sandbox by its
 * source address: containers hold no NET_ADMIN or NET_RAW, so they cannot take another's.
 */
final class EgressNetwork implements AutoCloseable {
    private final String name;
    private final InetAddress gateway;
    private final int port;
    private final EgressPort.Listener listener;
    /** Container addresses on this network, to container names. */
    private final Map<InetAddress, String> containers = new ConcurrentHashMap<>();

    private EgressNetwork(String name, InetAddress gateway, EgressPort egress, Function<String, Optional<String>> sandboxOfContainer)
            throws IOException {
        this.name = name;
        this.gateway = gateway;
        this.port = egress.port();
        this.listener = egress.listenTcp(new InetSocketAddress(gateway, port),
                peer -> Optional.ofNullable(containers.get(peer)).flatMap(sandboxOfContainer));
    }

    /** Creates the network unless it exists (it is kept across restarts), and starts the proxy's listener on its gateway. */
    static EgressNetwork open(DockerClient docker, String agentId, EgressPort egress, Function<String, Optional<String>> sandboxOfContainer)
            throws DriverException {
        String name = "airlock-" + agentId + "-egress";
        Network network;
        try {
            network = docker.inspectNetworkCmd().withNetworkId(name).exec();
        } catch (NotFoundException e) {
            docker.createNetworkCmd().withName(name).withDriver("bridge").withInternal(true).withCheckDuplicate(true)
                    .withOptions(Map.of("com.docker.network.bridge.enable_icc", "false"))
                    .withLabels(Map.of(DockerDriver.LABEL_AGENT, agentId)).exec();
            network = docker.inspectNetworkCmd().withNetworkId(name).exec();
        }
        if (!Boolean.TRUE.equals(network.getInternal()) || network.getLabels() == null
                || !agentId.equals(network.getLabels().get(DockerDriver.LABEL_AGENT))) {
            throw new DriverException(Kind.UNAVAILABLE, "Docker network " + name + " exists but is not this agent's internal network "
                    + "(internal=" + network.getInternal() + "); remove it (docker network rm " + name + ") and restart the daemon");
        }
        String gw = network.getIpam() == null || network.getIpam().getConfig() == null ? null
                : network.getIpam().getConfig().stream().map(Network.Ipam.Config::getGateway).filter(g -> g != null && !g.contains(":"))
                        .findFirst().orElse(null);
        if (gw == null) {
            throw new DriverException(Kind.UNAVAILABLE, "Docker network " + name + " has no IPv4 gateway for the egress proxy to listen on");
        }
        try {
            return new EgressNetwork(name, InetAddress.getByName(gw), egress, sandboxOfContainer);
        } catch (UnknownHostException e) {
            throw new DriverException(Kind.UNAVAILABLE, "gateway '" + gw + "' of " + name + " is not an address", e);
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot start the egress proxy on " + gw + ":" + egress.port() + " (the gateway of "
                    + name + "): " + e.getMessage(), e);
        }
    }

    String name() {
        return name;
    }

    /** The proxy variables every container on the network gets. */
    List<String> environment() {
        List<String> env = new ArrayList<>();
        EgressPort.proxyEnvironment("http://" + gateway.getHostAddress() + ":" + port).forEach((k, v) -> env.add(k + "=" + v));
        return env;
    }

    /** Records a container's address on this network (after it started, and for containers found at start). */
    void learn(InspectContainerResponse container) {
        var settings = container.getNetworkSettings();
        var net = settings == null || settings.getNetworks() == null ? null : settings.getNetworks().get(name);
        if (net == null || net.getIpAddress() == null || net.getIpAddress().isEmpty()) {
            return;
        }
        try {
            containers.put(InetAddress.getByName(net.getIpAddress()), container.getName().replaceFirst("^/", ""));
        } catch (UnknownHostException e) {
            // not an address: nothing to learn
        }
    }

    void forget(String containerName) {
        containers.values().removeIf(containerName::equals);
    }

    @Override
    public void close() {
        listener.close();
    }
}
