package io.airlock.connector.worker;

import io.airlock.core.audit.AuditTrail;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.sandbox.SandboxService;
import java.io.IOException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The daemon as a worker of a hosted platform's self-hosted environments: one poller per
 * configured environment, sessions served through the core's sandbox service, everything
 * audited. Runs beside the airlock.v1 connector or alone.
 */
public final class WorkerConnector implements AutoCloseable {
    private final List<EnvironmentWorker> workers = new ArrayList<>();
    private final HttpClient http;

    private WorkerConnector(HttpClient http) {
        this.http = http;
    }

    /**
     * Reads each environment's key file (refusing one readable by others) and starts polling.
     *
     * @param approvals where tool calls wait for local approval (state_dir/approvals)
     */
    public static WorkerConnector start(List<WorkerEnvironment> environments, SandboxService sandboxes, AuditTrail audit,
            Approvals approvals) throws IOException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NEVER).build();
        WorkerConnector c = new WorkerConnector(http);
        List<EnvironmentWorker> made = new ArrayList<>();
        for (WorkerEnvironment env : environments) {
            Credential key;
            try {
                key = Credential.readKeyFile(env.keyFile());
            } catch (IOException e) {
                throw new IOException("environments[" + env.environmentId() + "].key_file: " + e.getMessage(), e);
            }
            made.add(new EnvironmentWorker(env, new WorkQueueApi(env.apiUrl(), env.environmentId(), http), key, sandboxes, audit, approvals));
        }
        for (EnvironmentWorker w : made) {
            w.start();
            c.workers.add(w);
        }
        return c;
    }

    /** Ready when every environment's last poll reached its queue. */
    public boolean ready() {
        return workers.stream().allMatch(w -> w.stats().ready());
    }

    public int activeSessions() {
        return workers.stream().mapToInt(w -> w.stats().activeSessions()).sum();
    }

    /** Per environment: readiness, sessions and tool calls. */
    public Map<String, Map<String, Object>> status() {
        Map<String, Map<String, Object>> m = new LinkedHashMap<>();
        workers.forEach(w -> m.put(w.environmentId(), w.stats().snapshot()));
        return m;
    }

    /** Ends every session (sandboxes destroyed, items stopped) and stops polling. */
    @Override
    public void close() {
        workers.forEach(EnvironmentWorker::close);
        http.close();
    }
}
