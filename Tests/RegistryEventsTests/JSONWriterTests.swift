import Foundation
import RegistryEvents
import Testing

/// The hand-written writers must give exactly `JSONEncoder`'s bytes.
@Suite("JSONWriter writes what JSONEncoder writes, byte for byte")
struct JSONWriterTests {
    static let awkward = ["", "plain", "a/b", "quote\"d", "back\\slash", "tab\tnew\nline\r", "\u{1}\u{8}\u{C}\u{1F}", "é😀", "\u{7F}\u{2028}"]

    func events() -> [RegistryEvent] {
        var generator = SplitMix(seed: 11)
        func text() -> String { Self.awkward[Int(generator.next() % UInt64(Self.awkward.count))] }
        func maybe() -> String? { generator.next() % 3 == 0 ? nil : text() }
        return (0..<600).map { index in
            let actions = RegistryAction.allCases
            let action = actions[index % actions.count]
            var target = RegistryEvent.Target(
                mediaType: maybe(), size: generator.next() % 2 == 0 ? Int64(generator.next() % 100_000) : nil, digest: maybe(),
                length: generator.next() % 2 == 0 ? Int64(generator.next() % 100_000) : nil, repository: text(), url: maybe(), tag: maybe())
            target.name = maybe()
            target.version = maybe()
            var event = RegistryEvent(
                id: text(), timestamp: text(), action: action, registry: "r", location: text(), target: target,
                request: generator.next() % 2 == 0
                    ? RegistryEvent.Request(id: maybe(), addr: maybe(), host: maybe(), method: maybe(), useragent: maybe()) : nil,
                actor: generator.next() % 2 == 0 ? RegistryEvent.Actor(name: maybe()) : nil,
                source: generator.next() % 2 == 0 ? RegistryEvent.Source(addr: maybe(), instanceID: maybe()) : nil)
            event.connectedRegistry = maybe()
            if action == .scanCompleted {
                func count() -> Int? { generator.next() % 3 == 0 ? nil : Int(generator.next() % 1000) }
                event.scan = ScanResult(
                    status: [.succeeded, .failed, .stopped][Int(generator.next() % 3)], type: text(), severity: maybe(),
                    summary: generator.next() % 2 == 0
                        ? .init(total: count(), fixable: count(), critical: count(), high: count(), medium: count(), low: count(), unknown: count())
                        : nil,
                    scanner: generator.next() % 2 == 0 ? .init(name: maybe(), vendor: maybe(), version: maybe()) : nil,
                    reportId: maybe(), startTime: maybe(), endTime: maybe())
            }
            return event
        }
    }

    @Test func theACRBodyOfEveryActionIsJSONEncodersBytes() {
        for event in events() {
            let payload = ACRPayload(event)
            #expect(payload.jsonBytes == JSONRendering.encode(payload), "\(String(decoding: JSONRendering.encode(payload), as: UTF8.self))")
        }
    }

    @Test func cloudEventsAndEventGridEventsAreJSONEncodersBytes() {
        for event in events() {
            guard let gridEvent = EventGridEvent(event, topic: "/registries/r") else { continue }
            #expect(gridEvent.jsonBytes == JSONRendering.encode(gridEvent))
            let cloudEvent = CloudEvent(gridEvent)
            #expect(cloudEvent.jsonBytes == JSONRendering.encode(cloudEvent))
            #expect(cloudEvent.data.jsonBytes == JSONRendering.encode(cloudEvent.data))
        }
    }

    @Test func anyJSONValueIsJSONEncodersBytes() {
        var generator = SplitMix(seed: 5)
        func value(_ depth: Int) -> JSONValue {
            func text() -> String { Self.awkward[Int(generator.next() % UInt64(Self.awkward.count))] + "\(generator.next() % 20)" }
            switch generator.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(generator.next() % 2 == 0)
            case 2:
                let numbers: [Double] = [0, -1, 3023, 12.5, 0.1, 1e-5, 1e20, 1.0000000000000002, -2.75, 9.007_199_254_740_993e15]
                return .number(numbers[Int(generator.next() % UInt64(numbers.count))])
            case 3: return .string(text())
            case 4: return .array((0..<Int(generator.next() % 4)).map { _ in value(depth + 1) })
            default:
                return .object(Dictionary((0..<Int(generator.next() % 5)).map { _ in (text(), value(depth + 1)) }, uniquingKeysWith: { $1 }))
            }
        }
        for _ in 0..<2000 {
            let original = value(0)
            #expect(original.jsonBytes == JSONRendering.encode(original), "\(String(decoding: JSONRendering.encode(original), as: UTF8.self))")
        }
    }
}
