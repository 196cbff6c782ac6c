import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP decoder cannot read (a request line or header
/// past the limits, or not HTTP/1.1 at all) with our JSON error, as every
/// other 4xx is, instead of the server's bare `400` with no body; then
/// closes the connection, whose byte stream can no longer be trusted.
final class MalformedRequestAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A response has begun on this connection: too late to answer again.
    private var answering = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { answering = true }
        if case .end = unwrapOutboundIn(data) { answering = false }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !answering else {
            context.fireErrorCaught(error)
            return
        }
        let (status, code, message): (HTTPResponse.Status, String, String) =
            parserError == .headerOverflow
            ? (.requestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge",
                "the request line or headers exceed the server's limits (16 KiB a field, 64 KiB in all, 100 fields)")
            : (.badRequest, "BadRequest", "the request is not valid HTTP/1.1")
        let body = ByteBuffer(bytes: APIError(status, code: code, message: message).body)
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/json; charset=utf-8"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
