package io.airlock.core.egress;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies what one channel reads to its peer, counting the bytes. Reading pauses while the peer
 * cannot take more (its outbound buffer is past the high-water mark) and resumes when it can,
 * so a fast sender never fills the daemon's memory on behalf of a slow receiver.
 */
final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    private final AtomicLong bytes;

    Relay(Channel peer, AtomicLong bytes) {
        this.peer = peer;
        this.bytes = bytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf) && !(msg instanceof ByteBufHolder)) {
            ReferenceCountUtil.release(msg); // e.g. the empty end of a CONNECT request's decoded body
            return;
        }
        bytes.addAndGet(msg instanceof ByteBuf b ? b.readableBytes() : ((ByteBufHolder) msg).content().readableBytes());
        if (!peer.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        peer.write(msg).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        if (!peer.isWritable()) {
            // Stop reading before flushing: a flush that drains at once resumes reading through
            // channelWritabilityChanged, and must not be undone afterwards.
            ctx.channel().config().setAutoRead(false);
            peer.flush();
        }
    }

    /** One flush per batch of reads (fewer syscalls than one per buffer). */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
    }

    /** This channel drained below the low-water mark: the peer may read again. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            peer.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closeAfterFlush(peer);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            closeAfterFlush(peer);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
        closeAfterFlush(peer);
    }

    static void closeAfterFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
