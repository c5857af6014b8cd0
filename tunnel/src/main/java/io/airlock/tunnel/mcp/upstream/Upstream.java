package io.airlock.tunnel.mcp.upstream;

import io.airlock.tunnel.mcp.Exchange;
import java.io.IOException;

/** How one registry entry is reached: over Streamable HTTP, or through processes speaking stdio. */
public interface Upstream extends AutoCloseable {
    /**
     * Carries one exchange whose request passed the policy: its response goes to {@code exchange}
     * (the caller's sink). Returns when the response is complete; throws when the caller went
     * away or the response could not be finished.
     */
    void exchange(Exchange exchange) throws IOException, InterruptedException;

    /** Sessions open now. */
    int sessions();

    /** Ends sessions idle past the idle timeout. */
    void expireIdle();

    /** Ends every session and stream: the link to the control plane is gone. */
    void closeAll(String reason);

    @Override
    void close();
}
