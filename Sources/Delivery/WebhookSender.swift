import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RegistryEvents

/// What one HTTP attempt came to.
public struct AttemptOutcome: Sendable, Hashable {
    /// `nil` when no response came (timeout, refused, reset).
    public var statusCode: Int?
    public var reasonPhrase: String
    public var responseHeaders: [String: String]
    /// The response body, cut at `WebhookSender.maxLoggedResponseBytes`.
    public var responseBody: String
    /// Why no response came.
    public var error: String?
    /// `Retry-After` in seconds, when the endpoint sent one.
    public var retryAfter: Duration?
    /// How long the attempt took, from the request to the whole answer (or the failure).
    public var duration: Duration? = nil

    public var isSuccess: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
}

/// Makes the HTTP requests of every delivery. To a webhook it POSTs exactly
/// what ACR would: `Content-Type: application/json` unless a custom header
/// sets it, the custom headers, and nothing else.
public struct WebhookSender: Sendable {
    /// Response bodies longer than this are cut in the delivery log.
    public static let maxLoggedResponseBytes = 4096

    let http: GuardedHTTPClient
    let timeout: Duration
    public var targetGuard: TargetGuard { http.targetGuard }

    public init(http: GuardedHTTPClient, timeout: Duration) {
        self.http = http
        self.timeout = timeout
    }

    /// The headers a delivery to `webhook` carries.
    public static func headers(for webhook: Webhook) -> [(String, String)] {
        var headers: [(String, String)] = []
        if !webhook.customHeaders.keys.contains(where: { $0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        headers += webhook.customHeaders.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return headers
    }

    /// The request a delivery of `body` to `webhook` makes.
    /// - Parameter eventID: names the message in Standard Webhooks headers
    ///   (signed webhooks only).
    public static func request(body: String, to webhook: Webhook, eventID: String) -> OutboundRequest {
        var headers = Self.headers(for: webhook)
        let now = Date()
        let secrets = webhook.signingSecrets(at: now)
        if !secrets.isEmpty {
            headers += WebhookSigner.headers(
                secrets: secrets, messageID: WebhookSigner.messageID(eventID: eventID, webhook: webhook.name),
                timestamp: Int(now.timeIntervalSince1970), body: body)
        }
        return OutboundRequest(url: webhook.serviceURI, headers: headers, body: body)
    }

    public func send(body: String, to webhook: Webhook, eventID: String = "") async -> AttemptOutcome {
        await send(Self.request(body: body, to: webhook, eventID: eventID))
    }

    /// Makes one request under one deadline that covers everything: the
    /// target guard's lookup, connecting, sending, the response head and the
    /// whole body. When it fires, the request is cancelled (AsyncHTTPClient
    /// drops the connection) and the attempt comes back as a timeout, so an
    /// endpoint that sends headers and then stalls costs one deadline, never
    /// more. Whatever happens comes back as an outcome.
    public func send(_ outbound: OutboundRequest) async -> AttemptOutcome {
        let started = ContinuousClock.now
        var outcome = await Deadline.run(within: timeout) { await self.attempt(outbound) }
            ?? .failure("timeout: no complete answer within \(timeout) (connect, request, response head and body)")
        outcome.duration = .now - started
        return outcome
    }

    private func attempt(_ outbound: OutboundRequest) async -> AttemptOutcome {
        var request = HTTPClientRequest(url: outbound.url)
        request.method = HTTPMethod(rawValue: outbound.method)
        for (name, value) in outbound.headers { request.headers.add(name: name, value: value) }
        if outbound.method != "OPTIONS" || !outbound.body.isEmpty { request.body = .bytes(ByteBuffer(string: outbound.body)) }
        do {
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: timeout)
            } catch is CancellationError {
                return .failure("timeout: the endpoint's host name did not resolve within \(timeout)")
            } catch let refusal as TargetGuard.Refusal {
                return .failure(refusal.description)
            }
            // Read what we log and drop the rest, so the connection can be reused.
            var collected = ByteBuffer()
            var truncated = false
            for try await var chunk in response.body {
                let room = Self.maxLoggedResponseBytes - collected.readableBytes
                if room > 0 {
                    if var slice = chunk.readSlice(length: min(room, chunk.readableBytes)) { collected.writeBuffer(&slice) }
                }
                if chunk.readableBytes > 0 { truncated = true }
            }
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name] = header.value }
            let retryAfter = response.headers.first(name: "retry-after").flatMap { Self.retryAfter($0) }
            return AttemptOutcome(
                statusCode: Int(response.status.code), reasonPhrase: response.status.reasonPhrase, responseHeaders: headers,
                responseBody: String(buffer: collected) + (truncated ? "…" : ""), error: nil, retryAfter: retryAfter)
        } catch {
            return .failure(ConnectionFailure.reason(error))
        }
    }
}

extension AttemptOutcome {
    /// No response: refused, reset, timed out, or not attempted.
    public static func failure(_ error: String) -> AttemptOutcome {
        AttemptOutcome(statusCode: nil, reasonPhrase: "", responseHeaders: [:], responseBody: "", error: error, retryAfter: nil)
    }
}

extension WebhookSender {
    /// `Retry-After` as seconds or as an HTTP date; `nil` when unreadable.
    public static func retryAfter(_ text: String, now: Date = Date()) -> Duration? {
        if let seconds = Int(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(0, Int64(date.timeIntervalSince(now) * 1000)))
    }
}

extension Duration {
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
