package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's events, in order, into a bounded queue: the SSE stream, and after every
 * (re)connect the list to catch up on what happened while no stream was open. Its own thread;
 * it waits on the queue (the handler's pace) and on the peer, never on a lock. A termination is
 * reported at once ({@code onTermination}), ahead of the events queued before it, as the SDK's
 * session runner acts on it.
 */
final class EventReader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventReader.class);
    /** Events of a session's list held while catching up; a longer history is read up to this. */
    static final int MAX_CATCH_UP = 100_000;

    private final WorkQueueApi api;
    private final Credential token;
    private final String sessionId;
    private final BlockingQueue<JsonNode> events;
    private final BooleanSupplier ending;
    private final Runnable onTermination;
    private final Consumer<String> refused;
    private volatile EventStream stream;
    private volatile boolean terminated;
    private Thread thread;

    /**
     * @param ending        true once the session's work is ending: the reader stops
     * @param onTermination called once, on the reader's thread, when the session's termination is read
     * @param refused       called when the platform refuses the stream for good, with why
     */
    EventReader(WorkQueueApi api, Credential token, String sessionId, BlockingQueue<JsonNode> events, BooleanSupplier ending,
            Runnable onTermination, Consumer<String> refused) {
        this.api = api;
        this.token = token;
        this.sessionId = sessionId;
        this.events = events;
        this.ending = ending;
        this.onTermination = onTermination;
        this.refused = refused;
    }

    void start() {
        thread = Thread.ofVirtual().name("session-" + sessionId).start(this::read);
    }

    boolean terminated() {
        return terminated;
    }

    private void read() {
        int failures = 0;
        while (!ending.getAsBoolean()) {
            try (EventStream s = new EventStream(api.stream(token, sessionId))) {
                stream = s;
                if (ending.getAsBoolean()) {
                    return;
                }
                catchUp();
                failures = 0;
                JsonNode e;
                while ((e = s.next()) != null) {
                    offer(e);
                }
            } catch (ApiException e) {
                if (!e.transientFailure()) {
                    refused.accept("the platform refused the session's event stream: " + e.status() + " " + e.getMessage());
                    return;
                }
            } catch (IOException e) {
                log.debug("event stream of {} broke: {}", sessionId, e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
            try {
                Thread.sleep(Pacing.STREAM.delayMs(failures++, ThreadLocalRandom.current()));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * What happened while no stream was open is in the list. Its results go first, so that a call
     * answered before (by this worker, before a reconnect) is never run again even when its
     * answer is on a later page than the call.
     */
    private void catchUp() throws ApiException, InterruptedException {
        List<JsonNode> rest = new ArrayList<>();
        String page = null;
        boolean warned = false;
        do {
            JsonNode p = api.events(token, sessionId, page);
            for (JsonNode e : p.path("data")) {
                if (e.path("type").asText().equals("user.tool_result")) {
                    events.put(e);
                } else if (isTermination(e)) {
                    offer(e);
                } else if (rest.size() < MAX_CATCH_UP) {
                    rest.add(e);
                } else if (!warned) {
                    warned = true;
                    log.warn("session {} lists over {} events; the catch-up reads the first {} (the stream carries what comes next)",
                            sessionId, MAX_CATCH_UP, MAX_CATCH_UP);
                }
            }
            page = p.path("next_page").isTextual() ? p.path("next_page").asText() : null;
        } while (page != null);
        for (JsonNode e : rest) {
            events.put(e);
        }
    }

    private static boolean isTermination(JsonNode e) {
        String type = e.path("type").asText();
        return type.equals("session.status_terminated") || type.equals("session.deleted");
    }

    private void offer(JsonNode e) throws InterruptedException {
        if (isTermination(e) && !terminated) {
            terminated = true;
            onTermination.run();
        }
        events.put(e);
    }

    /** Closes the open stream (its read returns) and stops the reader. */
    @Override
    public void close() {
        EventStream s = stream;
        if (s != null) {
            s.close();
        }
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }
}
