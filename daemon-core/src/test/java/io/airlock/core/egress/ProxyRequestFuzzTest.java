package io.airlock.core.egress;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.util.ReferenceCountUtil;

/**
 * Any bytes a sandbox sends the egress proxy, through the proxy's own decoder settings: the
 * request target is refused with a reason, or it names a host and a port the policy can judge
 * (never an empty host, never a port outside 1-65535).
 */
class ProxyRequestFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void everyRequestTargetIsJudgedOrRefused(@NotNull byte[] input) {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpRequestDecoder(8192, 16384, 65536));
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(input));
            Object msg;
            while ((msg = ch.readInbound()) != null) {
                try {
                    if (msg instanceof HttpRequest req && req.decoderResult().isSuccess()) {
                        check(req);
                    }
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    private static void check(HttpRequest req) {
        ProxyTarget t;
        try {
            t = ProxyTarget.of(req);
        } catch (ProxyTarget.BadTarget refused) {
            if (refused.getMessage() == null || refused.getMessage().isBlank()) {
                throw new AssertionError("a refusal without a reason for " + req.uri());
            }
            return;
        }
        if (t.host().isEmpty() || t.port() < 1 || t.port() > 65535) {
            throw new AssertionError("target " + t + " from '" + req.method() + " " + req.uri() + "'");
        }
    }
}
