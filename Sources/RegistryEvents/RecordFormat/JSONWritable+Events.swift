// The event types ingest renders for every event, written with `JSONWriter`.
// Keys are listed in sorted order (as `JSONEncoder`'s `.sortedKeys` writes
// them); `JSONWriterTests` holds each to `JSONEncoder`'s bytes.

extension ACRPayload: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("action", action)
            w.member("id", id)
            w.member("request", request)
            w.member("scan", scan)
            w.member("target", target)
            w.member("timestamp", timestamp)
        }
    }
}

extension ACRPayload.Target: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("digest", digest)
            w.member("length", length)
            w.member("mediaType", mediaType)
            w.member("name", name)
            w.member("repository", repository)
            w.member("size", size)
            w.member("tag", tag)
            w.member("tags", tags)
            w.member("version", version)
        }
    }
}

extension ACRPayload.Request: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("host", host)
            w.member("id", id)
            w.member("method", method)
            w.member("useragent", useragent)
        }
    }
}

extension CloudEvent: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("data", data)
            w.member("datacontenttype", datacontenttype)
            w.member("id", id)
            w.member("source", source)
            w.member("specversion", specversion)
            w.member("subject", subject)
            w.member("time", time)
            if let traceparent { w.member("traceparent", traceparent) }
            w.member("type", type)
        }
    }
}

extension EventGridEvent: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("data", data)
            w.member("dataVersion", dataVersion)
            w.member("eventTime", eventTime)
            w.member("eventType", eventType)
            w.member("id", id)
            w.member("metadataVersion", metadataVersion)
            w.member("subject", subject)
            w.member("topic", topic)
        }
    }
}

extension ContainerRegistryEventData: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("action", action)
            w.member("actor", actor)
            w.member("connectedRegistry", connectedRegistry)
            w.member("id", id)
            w.member("location", location)
            w.member("request", request)
            w.member("scan", scan)
            w.member("source", source)
            w.member("target", target)
            w.member("timestamp", timestamp)
        }
    }
}

extension ContainerRegistryEventData.ConnectedRegistry: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in w.member("name", name) }
    }
}

extension RegistryEvent.Target: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("digest", digest)
            w.member("length", length)
            w.member("mediaType", mediaType)
            w.member("name", name)
            w.member("repository", repository)
            w.member("size", size)
            w.member("tag", tag)
            w.member("tags", tags)
            w.member("url", url)
            w.member("version", version)
        }
    }
}

extension RegistryEvent.Request: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("addr", addr)
            w.member("host", host)
            w.member("id", id)
            w.member("method", method)
            w.member("useragent", useragent)
        }
    }
}

extension RegistryEvent.Actor: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in w.member("name", name) }
    }
}

extension RegistryEvent.Source: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("addr", addr)
            w.member("instanceID", instanceID)
        }
    }
}
