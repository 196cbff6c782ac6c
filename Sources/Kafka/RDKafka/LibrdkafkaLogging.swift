import CRdKafka
import Logging

/// librdkafka's own log lines and client errors, forwarded to swift-log;
/// at debug once the client's embedded cluster was stopped by this process
/// (`ExpectedDisconnects`).
///
/// C callbacks cannot capture Swift context, so they share one logger. They run
/// on librdkafka's threads; swift-log handlers are thread-safe.
let librdkafkaLogger = Logger(label: "regevents.librdkafka")

let librdkafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    let text = message.map { String(cString: $0) } ?? ""
    let facilityText = facility.map { String(cString: $0) } ?? ""
    let client = handle.map { String(cString: rd_kafka_name($0)) } ?? ""
    // syslog levels: 0 emerg ... 7 debug
    let swiftLevel: Logger.Level
    switch level {
    // Its embedded cluster was stopped by us: what it says now is no fault.
    case _ where ExpectedDisconnects.areExpected(for: client): swiftLevel = .debug
    case ...3: swiftLevel = .error
    case 4: swiftLevel = .warning
    case 5, 6: swiftLevel = .info
    default: swiftLevel = .debug
    }
    librdkafkaLogger.log(
        level: swiftLevel, "\(text)", metadata: ["client": "\(client)", "facility": "\(facilityText)"])
}

let librdkafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, err, reason, _ in
    let text = reason.map { String(cString: $0) } ?? ""
    let client = handle.map { String(cString: rd_kafka_name($0)) } ?? ""
    let name = String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(err)))
    let level: Logger.Level = ExpectedDisconnects.areExpected(for: client) ? .debug : .warning
    librdkafkaLogger.log(level: level, "\(text)", metadata: ["client": "\(client)", "error": "\(name)"])
}
