import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request does not arrive in full (head and
/// body) within `timeout` of the connection opening or of it going idle: a
/// client trickling bytes (slowloris) holds a connection for at most that
/// long, where an idle timeout alone restarts with every byte. It doubles as
/// the keep-alive idle timeout.
///
/// The clock runs while the connection waits for a request or reads one,
/// and stops while the server works on a request it has read in full. A
/// response can go out before its request's body is in (an early 401 or
/// 413): the clock then runs until the body is read, and on as idle time.
final class RequestReadDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// A request's head has arrived and its end not yet.
    private var reading = false
    /// Requests read (in part or in full) whose response has not ended.
    private var unanswered = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            reading = true
            unanswered += 1
            // A pipelined request arriving while the previous one is worked on.
            if deadline == nil { start(context) }
        case .body:
            break
        case .end:
            reading = false
            // Read in full: the server's time, unless it already answered (then idle).
            if unanswered > 0 { stop() } else { start(context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            // Idle again, or still reading this request's (or the next one's) body.
            if unanswered == 0 || reading {
                if deadline == nil || unanswered == 0 && !reading { start(context) }
            }
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        stop()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    private func stop() {
        deadline?.cancel()
        deadline = nil
    }
}
