/// What a `scan_completed` event (opt-in) carries besides its target: the
/// result of a registry's vulnerability or SBOM scan of one digest, in one
/// shape whichever registry scanned. Counts are plain fields, so an advanced
/// filter can ask for `data.scan.summary.critical` greater than 0.
public struct ScanResult: Sendable, Hashable, Codable {
    /// `succeeded`, `failed` or `stopped`.
    public var status: Status
    /// `vulnerability` or `sbom`.
    public var type: String
    /// The highest severity found (the scanner's word: `Critical`, `High`,
    /// `Medium`, `Low`, `Unknown`, `None`); absent when the scan did not succeed.
    public var severity: String?
    public var summary: Summary?
    public var scanner: Scanner?
    /// The registry's id of the report, to fetch it from the registry.
    public var reportId: String?
    public var startTime: String?
    public var endTime: String?

    public enum Status: String, Sendable, Hashable, Codable {
        case succeeded, failed, stopped
    }

    public struct Summary: Sendable, Hashable, Codable {
        public var total: Int?
        public var fixable: Int?
        public var critical: Int?
        public var high: Int?
        public var medium: Int?
        public var low: Int?
        public var unknown: Int?

        public init(
            total: Int? = nil, fixable: Int? = nil, critical: Int? = nil, high: Int? = nil, medium: Int? = nil, low: Int? = nil,
            unknown: Int? = nil
        ) {
            self.total = total
            self.fixable = fixable
            self.critical = critical
            self.high = high
            self.medium = medium
            self.low = low
            self.unknown = unknown
        }
    }

    public struct Scanner: Sendable, Hashable, Codable {
        public var name: String?
        public var vendor: String?
        public var version: String?

        public init(name: String? = nil, vendor: String? = nil, version: String? = nil) {
            self.name = name
            self.vendor = vendor
            self.version = version
        }
    }

    public init(
        status: Status, type: String, severity: String? = nil, summary: Summary? = nil, scanner: Scanner? = nil,
        reportId: String? = nil, startTime: String? = nil, endTime: String? = nil
    ) {
        self.status = status
        self.type = type
        self.severity = severity
        self.summary = summary
        self.scanner = scanner
        self.reportId = reportId
        self.startTime = startTime
        self.endTime = endTime
    }
}

extension ScanResult: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("endTime", endTime)
            w.member("reportId", reportId)
            w.member("scanner", scanner)
            w.member("severity", severity)
            w.member("startTime", startTime)
            w.member("status", status.rawValue)
            w.member("summary", summary)
            w.member("type", type)
        }
    }
}

extension ScanResult.Summary: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("critical", critical)
            w.member("fixable", fixable)
            w.member("high", high)
            w.member("low", low)
            w.member("medium", medium)
            w.member("total", total)
            w.member("unknown", unknown)
        }
    }
}

extension ScanResult.Scanner: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("name", name)
            w.member("vendor", vendor)
            w.member("version", version)
        }
    }
}
