package io.airlock.core.egress;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.atomic.AtomicLong;

/** Counts the bytes a channel writes, placed next to its socket: what really went out, framing and headers included. */
final class SentBytes extends ChannelOutboundHandlerAdapter {
    private final AtomicLong count;

    SentBytes(AtomicLong count) {
        this.count = count;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf b) {
            count.addAndGet(b.readableBytes());
        } else if (msg instanceof ByteBufHolder h) {
            count.addAndGet(h.content().readableBytes());
        }
        ctx.write(msg, promise);
    }
}
