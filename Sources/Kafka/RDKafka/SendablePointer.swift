/// An opaque C pointer that may cross concurrency domains.
///
/// `@unchecked Sendable` is safe here because every pointer wrapped this way
/// is a librdkafka handle, queue or mock cluster, which librdkafka documents as
/// thread-safe, and whose lifetime is owned by exactly one Swift object.
struct SendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
