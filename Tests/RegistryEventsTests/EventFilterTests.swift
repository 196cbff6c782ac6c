import Foundation
import Testing

@testable import RegistryEvents

/// Container-registry events as an event subscription sees them.
enum FilterTestEvents {
    static let topic =
        "/subscriptions/2b7c1a05-5a7e-4c2b-9d6e-0c1f3a4b5c6d/resourceGroups/registries-rg/providers/Microsoft.ContainerRegistry/registries/contoso"
    static let id = "831e1650-001e-001b-66ab-eeb76e069631"
    static let pushedType = "Microsoft.ContainerRegistry.ImagePushed"
    static let deletedType = "Microsoft.ContainerRegistry.ImageDeleted"
    static let time = "2018-04-25T21:39:47.6549614Z"

    /// ACR's ImagePushed data, plus what a custom topic may carry and ACR
    /// does not: arrays (`tags`, `layerSizes`, `layers`, `signatureChecks`)
    /// and booleans (`signed`, `quarantined`).
    static let pushedData: JSONValue = [
        "id": "31c51664-e5bd-416a-a5df-e5206bc47ed0",
        "timestamp": "2018-04-25T21:39:47.276585742Z",
        "action": "push",
        "location": "westus",
        "target": [
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "size": 3023,
            "digest": "sha256:213bbc182920ab41e18edc2001e06abcca6735d87782d9cef68abd83941cf0e5",
            "length": 3023,
            "repository": "aci-helloworld",
            "tag": "v1",
        ],
        "request": [
            "id": "7c66f28b-de19-40a4-821c-6f5f6c0003a4",
            "host": "contoso.azurecr.io",
            "method": "PUT",
            "useragent": "docker/18.03.0-ce go/go1.9.4",
        ],
        "actor": ["name": ""],
        "source": ["addr": "10.0.0.4:5000", "instanceID": "2c4b6d8e-1f3a-4b5c-9d7e-0a1b2c3d4e5f"],
        "connectedRegistry": nil,
        "tags": ["v1", "latest", "Stable"],
        "layerSizes": [1024, 3023, 52_428_800],
        "layers": [["digest": "sha256:aa", "size": 1024]],
        "signatureChecks": [false, true],
        "signed": true,
        "quarantined": false,
    ]

    /// Event Grid schema.
    static let pushed: JSONValue = [
        "id": .string(id),
        "topic": .string(topic),
        "subject": "aci-helloworld:v1",
        "eventType": .string(pushedType),
        "eventTime": .string(time),
        "data": pushedData,
        "dataVersion": "1.0",
        "metadataVersion": "1",
    ]

    /// CloudEvents 1.0, with one extension at the top level (as on the wire)
    /// and one nested under `extensions` (as an in-memory envelope may hold it).
    static let pushedCloudEvent: JSONValue = [
        "id": .string(id),
        "source": .string(topic),
        "subject": "aci-helloworld:v1",
        "type": .string(pushedType),
        "time": .string(time),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "dataversion": "1.0",
        "registryregion": "westus",
        "extensions": ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
        "data": pushedData,
    ]

    static let deleted: JSONValue = [
        "id": "9a4d1f2e-0b1c-4d5e-8f90-112233445566",
        "topic": .string(topic),
        "subject": "aci-helloworld",
        "eventType": .string(deletedType),
        "eventTime": .string(time),
        "data": [
            "action": "delete",
            "location": "westus",
            "target": [
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": "sha256:213bbc182920ab41e18edc2001e06abcca6735d87782d9cef68abd83941cf0e5",
                "repository": "aci-helloworld",
            ],
        ],
        "dataVersion": "1.0",
        "metadataVersion": "1",
    ]

    /// An envelope without subject or type, to show what a filter does when they are missing.
    static let bare: JSONValue = ["id": "1", "data": ["action": "push"]]
}

/// One advanced filter applied to one event.
struct AdvancedFilterCase: Sendable, CustomTestStringConvertible {
    let name: String
    let filter: AdvancedFilter
    let event: JSONValue
    let arrays: Bool
    let expected: Bool

    init(
        _ name: String, _ operatorType: AdvancedFilter.Operator, _ key: String, value: JSONValue? = nil,
        values: [JSONValue]? = nil, on event: JSONValue = FilterTestEvents.pushed, arrays: Bool = false,
        _ expected: Bool
    ) {
        self.name = name
        filter = AdvancedFilter(operatorType: operatorType, key: key, value: value, values: values)
        self.event = event
        self.arrays = arrays
        self.expected = expected
    }

    var testDescription: String { "\(filter.operatorType.rawValue): \(name)" }
}

@Suite struct AdvancedFilterMatchingTests {
    static let numberComparisons: [AdvancedFilterCase] = [
        .init("greater than a smaller bound", .numberGreaterThan, "data.target.size", value: 3000, true),
        .init("greater than is strict", .numberGreaterThan, "data.target.size", value: 3023, false),
        .init("greater than a larger bound", .numberGreaterThan, "data.target.size", value: 5000, false),
        .init("greater or equal at the bound", .numberGreaterThanOrEquals, "data.target.size", value: 3023, true),
        .init("greater or equal above", .numberGreaterThanOrEquals, "data.target.size", value: 3024, false),
        .init("less than a larger bound", .numberLessThan, "data.target.size", value: 3024, true),
        .init("less than is strict", .numberLessThan, "data.target.size", value: 3023, false),
        .init("less or equal at the bound", .numberLessThanOrEquals, "data.target.size", value: 3023, true),
        .init("less or equal below", .numberLessThanOrEquals, "data.target.size", value: 3022, false),
        .init("fractional bound", .numberLessThan, "data.target.size", value: 3023.5, true),
        .init("key ignores case", .numberGreaterThan, "DATA.Target.SIZE", value: 3000, true),
        .init("missing key", .numberGreaterThan, "data.target.sizeInBytes", value: 0, false),
        .init("missing key", .numberGreaterThanOrEquals, "data.target.sizeInBytes", value: 0, false),
        .init("missing key", .numberLessThan, "data.target.sizeInBytes", value: 1e12, false),
        .init("missing key", .numberLessThanOrEquals, "data.target.sizeInBytes", value: 1e12, false),
        .init("null", .numberGreaterThan, "data.connectedRegistry", value: 0, false),
        .init("null", .numberLessThanOrEquals, "data.connectedRegistry", value: 1e12, false),
        .init("numeric string is not a number", .numberGreaterThanOrEquals, "DataVersion", value: 1, false),
        .init("string", .numberLessThan, "data.target.tag", value: 1e12, false),
        .init("any array element", .numberGreaterThan, "data.layerSizes", value: 50_000_000, arrays: true, true),
        .init("no array element", .numberLessThan, "data.layerSizes", value: 100, arrays: true, false),
        .init("array without the flag", .numberGreaterThan, "data.layerSizes", value: 50_000_000, false),
        .init("array of objects", .numberGreaterThanOrEquals, "data.layers", value: 0, arrays: true, false),
    ]

    static let numberSets: [AdvancedFilterCase] = [
        .init("in the set", .numberIn, "data.target.size", values: [3023], true),
        .init("any value matches", .numberIn, "data.target.size", values: [1, 3023], true),
        .init("in no value", .numberIn, "data.target.size", values: [1, 2], false),
        .init("key ignores case", .numberIn, "Data.Target.Size", values: [3023], true),
        .init("missing key", .numberIn, "data.target.sizeInBytes", values: [3023], false),
        .init("null", .numberIn, "data.connectedRegistry", values: [0], false),
        .init("numeric string", .numberIn, "DataVersion", values: [1], false),
        .init("not in the set", .numberNotIn, "data.target.size", values: [1, 2], true),
        .init("fails when any value matches", .numberNotIn, "data.target.size", values: [1, 3023], false),
        .init("missing key matches", .numberNotIn, "data.target.sizeInBytes", values: [3023], true),
        .init("null matches", .numberNotIn, "data.connectedRegistry", values: [0], true),
        .init("numeric string is no pair", .numberNotIn, "DataVersion", values: [1], true),
        .init("any array element", .numberIn, "data.layerSizes", values: [3023], arrays: true, true),
        .init("array without the flag", .numberIn, "data.layerSizes", values: [3023], false),
        .init("array of objects", .numberIn, "data.layers", values: [1024], arrays: true, false),
        .init("an array element matches", .numberNotIn, "data.layerSizes", values: [3023], arrays: true, false),
        .init("no array element matches", .numberNotIn, "data.layerSizes", values: [7], arrays: true, true),
        .init("array without the flag is no pair", .numberNotIn, "data.layerSizes", values: [3023], true),
    ]

    static let numberRanges: [AdvancedFilterCase] = [
        .init("low bound is inclusive", .numberInRange, "data.target.size", values: [[3023, 4000]], true),
        .init("high bound is inclusive", .numberInRange, "data.target.size", values: [[1000, 3023]], true),
        .init("outside", .numberInRange, "data.target.size", values: [[3024, 5000]], false),
        .init("any range matches", .numberInRange, "data.target.size", values: [[0, 10], [3000, 3100]], true),
        .init("missing key", .numberInRange, "data.target.sizeInBytes", values: [[0, 1e12]], false),
        .init("null", .numberInRange, "data.connectedRegistry", values: [[0, 1e12]], false),
        .init("string", .numberInRange, "data.target.tag", values: [[0, 1e12]], false),
        .init("outside every range", .numberNotInRange, "data.target.size", values: [[0, 10], [5000, 6000]], true),
        .init("bounds are inclusive", .numberNotInRange, "data.target.size", values: [[3023, 3023]], false),
        .init("fails when any range matches", .numberNotInRange, "data.target.size", values: [[0, 10], [3000, 3100]], false),
        .init("missing key matches", .numberNotInRange, "data.target.sizeInBytes", values: [[0, 1e12]], true),
        .init("string is no pair", .numberNotInRange, "data.target.tag", values: [[0, 1e12]], true),
        .init("any array element", .numberInRange, "data.layerSizes", values: [[50_000_000, 60_000_000]], arrays: true, true),
        .init("array without the flag", .numberInRange, "data.layerSizes", values: [[50_000_000, 60_000_000]], false),
        .init("an array element in range", .numberNotInRange, "data.layerSizes", values: [[1000, 2000]], arrays: true, false),
    ]

    static let booleans: [AdvancedFilterCase] = [
        .init("true equals true", .boolEquals, "data.signed", value: true, true),
        .init("true is not false", .boolEquals, "data.signed", value: false, false),
        .init("false equals false", .boolEquals, "data.quarantined", value: false, true),
        .init("key ignores case", .boolEquals, "DATA.SIGNED", value: true, true),
        .init("missing key", .boolEquals, "data.scanned", value: false, false),
        .init("null", .boolEquals, "data.connectedRegistry", value: false, false),
        .init("number", .boolEquals, "data.target.size", value: true, false),
        .init("string", .boolEquals, "data.action", value: true, false),
        .init("any array element", .boolEquals, "data.signatureChecks", value: true, arrays: true, true),
        .init("array without the flag", .boolEquals, "data.signatureChecks", value: true, false),
    ]

    static let stringSets: [AdvancedFilterCase] = [
        .init("exact", .stringIn, "data.target.repository", values: ["aci-helloworld"], true),
        .init("ignores case", .stringIn, "data.target.repository", values: ["ACI-HelloWorld"], true),
        .init("any value matches", .stringIn, "data.target.repository", values: ["nginx", "aci-helloworld"], true),
        .init("a prefix is not equal", .stringIn, "data.target.repository", values: ["aci-hello"], false),
        .init("envelope key", .stringIn, "EventType", values: ["microsoft.containerregistry.imagepushed"], true),
        .init("missing key", .stringIn, "data.target.name", values: ["aci-helloworld"], false),
        .init("null", .stringIn, "data.connectedRegistry", values: ["edge"], false),
        .init("number is not a string", .stringIn, "data.target.size", values: ["3023"], false),
        .init("boolean is not a string", .stringIn, "data.signed", values: ["true"], false),
        .init("in no value", .stringNotIn, "data.target.repository", values: ["nginx"], true),
        .init("fails when any value matches", .stringNotIn, "data.target.repository", values: ["nginx", "ACI-HELLOWORLD"], false),
        .init("missing key matches", .stringNotIn, "data.target.name", values: ["nginx"], true),
        .init("null matches", .stringNotIn, "data.connectedRegistry", values: ["edge"], true),
        .init("number is no pair", .stringNotIn, "data.target.size", values: ["3023"], true),
        .init("any array element", .stringIn, "data.tags", values: ["stable"], arrays: true, true),
        .init("array without the flag", .stringIn, "data.tags", values: ["stable"], false),
        .init("array of objects", .stringIn, "data.layers", values: ["sha256:aa"], arrays: true, false),
        .init("an array element matches", .stringNotIn, "data.tags", values: ["LATEST"], arrays: true, false),
        .init("no array element matches", .stringNotIn, "data.tags", values: ["edge"], arrays: true, true),
    ]

    static let substrings: [AdvancedFilterCase] = [
        .init("substring", .stringContains, "data.target.mediaType", values: ["manifest"], true),
        .init("ignores case", .stringContains, "data.target.mediaType", values: ["MANIFEST.V2"], true),
        .init("any value matches", .stringContains, "data.target.mediaType", values: ["helm", "docker"], true),
        .init("absent", .stringContains, "data.target.mediaType", values: ["oci"], false),
        .init("empty value is in every string", .stringContains, "data.target.mediaType", values: [""], true),
        .init("missing key", .stringContains, "data.target.name", values: ["a"], false),
        .init("null", .stringContains, "data.connectedRegistry", values: ["a"], false),
        .init("number", .stringContains, "data.target.size", values: ["30"], false),
        .init("contains none", .stringNotContains, "data.target.mediaType", values: ["helm"], true),
        .init("fails when any value matches", .stringNotContains, "data.target.mediaType", values: ["helm", "Docker"], false),
        .init("missing key does not match", .stringNotContains, "data.target.name", values: ["helm"], false),
        .init("null does not match", .stringNotContains, "data.connectedRegistry", values: ["helm"], false),
        .init("number is no pair", .stringNotContains, "data.target.size", values: ["30"], true),
        .init("any array element", .stringContains, "data.tags", values: ["TES"], arrays: true, true),
        .init("array without the flag", .stringContains, "data.tags", values: ["tes"], false),
        .init("an array element matches", .stringNotContains, "data.tags", values: ["tes"], arrays: true, false),
    ]

    static let prefixes: [AdvancedFilterCase] = [
        .init("prefix", .stringBeginsWith, "subject", values: ["aci-"], true),
        .init("ignores case", .stringBeginsWith, "Subject", values: ["ACI-HELLO"], true),
        .init("any value matches", .stringBeginsWith, "subject", values: ["nginx", "aci"], true),
        .init("not at the start", .stringBeginsWith, "subject", values: ["helloworld"], false),
        .init("every string begins with empty", .stringBeginsWith, "subject", values: [""], true),
        .init("missing key", .stringBeginsWith, "data.target.name", values: ["a"], false),
        .init("null", .stringBeginsWith, "data.connectedRegistry", values: ["a"], false),
        .init("number", .stringBeginsWith, "data.target.size", values: ["30"], false),
        .init("begins with none", .stringNotBeginsWith, "subject", values: ["nginx"], true),
        .init("fails when any value matches", .stringNotBeginsWith, "subject", values: ["nginx", "Aci"], false),
        .init("missing key does not match", .stringNotBeginsWith, "data.target.name", values: ["nginx"], false),
        .init("null does not match", .stringNotBeginsWith, "data.connectedRegistry", values: ["nginx"], false),
        .init("number is no pair", .stringNotBeginsWith, "data.target.size", values: ["30"], true),
        .init("any array element", .stringBeginsWith, "data.tags", values: ["LAT"], arrays: true, true),
        .init("array without the flag", .stringBeginsWith, "data.tags", values: ["lat"], false),
        .init("an array element matches", .stringNotBeginsWith, "data.tags", values: ["lat"], arrays: true, false),
    ]

    static let suffixes: [AdvancedFilterCase] = [
        .init("suffix", .stringEndsWith, "data.request.host", values: [".azurecr.io"], true),
        .init("ignores case", .stringEndsWith, "data.request.host", values: [".AZURECR.IO"], true),
        .init("any value matches", .stringEndsWith, "data.request.host", values: [".example.com", "azurecr.io"], true),
        .init("not at the end", .stringEndsWith, "data.request.host", values: ["contoso"], false),
        .init("every string ends with empty", .stringNotEndsWith, "data.request.host", values: [""], false),
        .init("missing key", .stringEndsWith, "data.request.addr", values: ["a"], false),
        .init("null", .stringEndsWith, "data.connectedRegistry", values: ["a"], false),
        .init("number", .stringEndsWith, "data.target.size", values: ["23"], false),
        .init("ends with none", .stringNotEndsWith, "data.request.host", values: [".example.com"], true),
        .init("fails when any value matches", .stringNotEndsWith, "data.request.host", values: [".example.com", ".IO"], false),
        .init("missing key does not match", .stringNotEndsWith, "data.request.addr", values: [".io"], false),
        .init("null does not match", .stringNotEndsWith, "data.connectedRegistry", values: [".io"], false),
        .init("number is no pair", .stringNotEndsWith, "data.target.size", values: ["23"], true),
        .init("any array element", .stringEndsWith, "data.tags", values: ["ABLE"], arrays: true, true),
        .init("array without the flag", .stringEndsWith, "data.tags", values: ["able"], false),
        .init("an array element matches", .stringNotEndsWith, "data.tags", values: ["able"], arrays: true, false),
    ]

    static let nullChecks: [AdvancedFilterCase] = [
        .init("missing key", .isNullOrUndefined, "data.target.name", true),
        .init("null", .isNullOrUndefined, "data.connectedRegistry", true),
        .init("below a null", .isNullOrUndefined, "data.connectedRegistry.name", true),
        .init("present", .isNullOrUndefined, "data.action", false),
        .init("empty string is not null", .isNullOrUndefined, "data.actor.name", false),
        .init("array", .isNullOrUndefined, "data.tags", arrays: true, false),
        .init("present", .isNotNull, "data.action", true),
        .init("key ignores case", .isNotNull, "SUBJECT", true),
        .init("empty string", .isNotNull, "data.actor.name", true),
        .init("false", .isNotNull, "data.quarantined", true),
        .init("null", .isNotNull, "data.connectedRegistry", false),
        .init("missing key", .isNotNull, "data.target.name", false),
        .init("missing on a deleted image", .isNotNull, "data.target.tag", on: FilterTestEvents.deleted, false),
    ]

    static let allTables = [
        numberComparisons, numberSets, numberRanges, booleans, stringSets, substrings, prefixes, suffixes, nullChecks,
    ]

    @Test(arguments: numberComparisons)
    func numberLessAndGreaterThan(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: numberSets)
    func numberInAndNotIn(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: numberRanges)
    func numberRangesAreInclusive(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: booleans)
    func boolEquals(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: stringSets)
    func stringInAndNotIn(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: substrings)
    func stringContainsAndNotContains(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: prefixes)
    func stringBeginsWithAndNotBeginsWith(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: suffixes)
    func stringEndsWithAndNotEndsWith(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test(arguments: nullChecks)
    func isNullOrUndefinedAndIsNotNull(_ example: AdvancedFilterCase) { expectOutcome(example) }

    @Test func tablesCoverEveryOperatorBothWays() {
        let cases = Self.allTables.flatMap { $0 }
        for operatorType in AdvancedFilter.Operator.allCases {
            let outcomes = Set(cases.filter { $0.filter.operatorType == operatorType }.map(\.expected))
            #expect(outcomes == [true, false], "\(operatorType.rawValue) needs a matching and a failing case")
        }
    }

    @Test func arrayFlagComesFromTheSubscriptionFilter() {
        let onTags = [AdvancedFilter(operatorType: .stringIn, key: "data.tags", values: ["latest"])]
        #expect(EventFilter(enableAdvancedFilteringOnArrays: true, advancedFilters: onTags).matches(FilterTestEvents.pushed))
        #expect(!EventFilter(enableAdvancedFilteringOnArrays: false, advancedFilters: onTags).matches(FilterTestEvents.pushed))
        #expect(!EventFilter(advancedFilters: onTags).matches(FilterTestEvents.pushed))
    }

    private func expectOutcome(_ example: AdvancedFilterCase) {
        #expect(example.filter.matches(example.event, arrays: example.arrays) == example.expected)
        // The same filter inside a subscription filter decides the same way.
        let subscription = EventFilter(enableAdvancedFilteringOnArrays: example.arrays, advancedFilters: [example.filter])
        #expect(subscription.matches(example.event) == example.expected)
    }
}

/// A whole subscription filter applied to one event.
struct EventFilterCase: Sendable, CustomTestStringConvertible {
    let name: String
    let filter: EventFilter
    let event: JSONValue
    let expected: Bool

    init(_ name: String, _ filter: EventFilter, on event: JSONValue = FilterTestEvents.pushed, _ expected: Bool) {
        self.name = name
        self.filter = filter
        self.event = event
        self.expected = expected
    }

    var testDescription: String { name }
}

@Suite struct EventFilterMatchingTests {
    typealias Events = FilterTestEvents

    static let eventTypes: [EventFilterCase] = [
        .init("no event types means all", EventFilter(), true),
        .init("an empty list means all", EventFilter(includedEventTypes: []), true),
        .init("All", EventFilter(includedEventTypes: ["All"]), true),
        .init("All among others", EventFilter(includedEventTypes: [Events.deletedType, "All"]), true),
        .init("All ignores case", EventFilter(includedEventTypes: ["all"]), true),
        .init("the event's type", EventFilter(includedEventTypes: [Events.pushedType]), true),
        .init("type ignores case", EventFilter(includedEventTypes: ["microsoft.containerregistry.IMAGEPUSHED"]), true),
        .init("another type", EventFilter(includedEventTypes: [Events.deletedType]), false),
        .init("one of several", EventFilter(includedEventTypes: [Events.deletedType, Events.pushedType]), true),
        .init("short form is another type", EventFilter(includedEventTypes: ["ImagePushed"]), false),
        .init("CloudEvents type", EventFilter(includedEventTypes: [Events.pushedType]), on: Events.pushedCloudEvent, true),
        .init("CloudEvents other type", EventFilter(includedEventTypes: [Events.deletedType]), on: Events.pushedCloudEvent, false),
        .init("deleted event", EventFilter(includedEventTypes: [Events.deletedType]), on: Events.deleted, true),
        .init("event without a type", EventFilter(includedEventTypes: [Events.pushedType]), on: Events.bare, false),
    ]

    static let subjects: [EventFilterCase] = [
        .init("begins with", EventFilter(subjectBeginsWith: "aci-"), true),
        .init("begins with ignores case by default", EventFilter(subjectBeginsWith: "ACI-"), true),
        .init("begins with, case-sensitive, other case", EventFilter(subjectBeginsWith: "ACI-", isSubjectCaseSensitive: true), false),
        .init("begins with, case-sensitive, same case", EventFilter(subjectBeginsWith: "aci-", isSubjectCaseSensitive: true), true),
        .init("begins with, case-insensitive explicitly", EventFilter(subjectBeginsWith: "ACI-", isSubjectCaseSensitive: false), true),
        .init("begins with another prefix", EventFilter(subjectBeginsWith: "nginx"), false),
        .init("no wildcards", EventFilter(subjectBeginsWith: "aci-*"), false),
        .init("ends with", EventFilter(subjectEndsWith: ":v1"), true),
        .init("ends with ignores case by default", EventFilter(subjectEndsWith: ":V1"), true),
        .init("ends with, case-sensitive, other case", EventFilter(subjectEndsWith: ":V1", isSubjectCaseSensitive: true), false),
        .init("ends with, case-sensitive, same case", EventFilter(subjectEndsWith: ":v1", isSubjectCaseSensitive: true), true),
        .init("ends with another suffix", EventFilter(subjectEndsWith: ":latest"), false),
        .init("untagged delete has no tag suffix", EventFilter(subjectEndsWith: ":v1"), on: Events.deleted, false),
        .init("both hold", EventFilter(subjectBeginsWith: "aci-", subjectEndsWith: ":v1"), true),
        .init("only the prefix holds", EventFilter(subjectBeginsWith: "aci-", subjectEndsWith: ":v2"), false),
        .init("only the suffix holds", EventFilter(subjectBeginsWith: "nginx", subjectEndsWith: ":v1"), false),
        .init("empty strings match everything", EventFilter(subjectBeginsWith: "", subjectEndsWith: ""), true),
        .init("empty strings match a missing subject", EventFilter(subjectBeginsWith: "", subjectEndsWith: ""), on: Events.bare, true),
        .init("missing subject, begins with", EventFilter(subjectBeginsWith: "aci-"), on: Events.bare, false),
        .init("missing subject, ends with", EventFilter(subjectEndsWith: ":v1"), on: Events.bare, false),
        .init("CloudEvents subject", EventFilter(subjectBeginsWith: "ACI-", subjectEndsWith: ":v1"), on: Events.pushedCloudEvent, true),
    ]

    static let combinations: [EventFilterCase] = [
        .init(
            "every filter holds",
            EventFilter(advancedFilters: [
                .init(operatorType: .stringIn, key: "data.action", values: ["push"]),
                .init(operatorType: .numberLessThan, key: "data.target.size", value: 10_000),
            ]), true),
        .init(
            "one filter fails",
            EventFilter(advancedFilters: [
                .init(operatorType: .stringIn, key: "data.action", values: ["push"]),
                .init(operatorType: .numberLessThan, key: "data.target.size", value: 1000),
            ]), false),
        .init(
            "same key twice makes a window",
            EventFilter(advancedFilters: [
                .init(operatorType: .numberGreaterThanOrEquals, key: "data.target.size", value: 1000),
                .init(operatorType: .numberLessThanOrEquals, key: "data.target.size", value: 5000),
            ]), true),
        .init(
            "same key twice, outside the window",
            EventFilter(advancedFilters: [
                .init(operatorType: .numberGreaterThanOrEquals, key: "data.target.size", value: 1000),
                .init(operatorType: .numberLessThan, key: "data.target.size", value: 2000),
            ]), false),
        .init(
            "advanced filters hold but the type does not",
            EventFilter(
                includedEventTypes: [Events.deletedType],
                advancedFilters: [.init(operatorType: .stringIn, key: "data.action", values: ["push"])]), false),
        .init(
            "type and subject hold but an advanced filter does not",
            EventFilter(
                includedEventTypes: [Events.pushedType], subjectBeginsWith: "aci-",
                advancedFilters: [.init(operatorType: .stringIn, key: "data.location", values: ["eastus"])]), false),
        .init(
            "type, subject and advanced filters hold",
            EventFilter(
                includedEventTypes: [Events.pushedType], subjectBeginsWith: "aci-", subjectEndsWith: ":v1",
                advancedFilters: [.init(operatorType: .stringIn, key: "data.location", values: ["WestUS"])]), true),
        .init("an empty list of advanced filters", EventFilter(advancedFilters: []), true),
    ]

    /// Envelope keys written for one schema find the other schema's attribute.
    static let aliases: [EventFilterCase] = [
        .init("Topic on CloudEvents", stringIn("Topic", Events.topic), on: Events.pushedCloudEvent, true),
        .init("EventType on CloudEvents", stringIn("EventType", Events.pushedType), on: Events.pushedCloudEvent, true),
        .init("EventTime on CloudEvents", stringBeginsWith("EventTime", "2018-04-25"), on: Events.pushedCloudEvent, true),
        .init("ID on CloudEvents", stringIn("ID", Events.id), on: Events.pushedCloudEvent, true),
        .init("DataVersion on CloudEvents", stringIn("DataVersion", "1.0"), on: Events.pushedCloudEvent, true),
        .init("Subject on CloudEvents", stringIn("Subject", "aci-helloworld:v1"), on: Events.pushedCloudEvent, true),
        .init("source on Event Grid", stringIn("source", Events.topic), true),
        .init("type on Event Grid", stringIn("type", Events.pushedType), true),
        .init("time on Event Grid", stringBeginsWith("time", "2018-04-25"), true),
        .init("id on Event Grid", stringIn("id", Events.id), true),
        .init("dataversion on Event Grid", stringIn("dataversion", "1.0"), true),
        .init("alias keeps the value", stringIn("type", Events.deletedType), false),
        .init("top-level extension", stringIn("registryregion", "WESTUS"), on: Events.pushedCloudEvent, true),
        .init("nested extension", stringBeginsWith("traceparent", "00-"), on: Events.pushedCloudEvent, true),
        .init("specversion", stringIn("specversion", "1.0"), on: Events.pushedCloudEvent, true),
        .init("no specversion in Event Grid schema", stringIn("specversion", "1.0"), false),
        .init(
            "no aliases inside data",
            EventFilter(advancedFilters: [.init(operatorType: .isNotNull, key: "data.topic")]), false),
        .init(
            "data's own source",
            EventFilter(advancedFilters: [.init(operatorType: .stringBeginsWith, key: "data.source.addr", values: ["10.0."])]),
            true),
        .init(
            "CloudEvents data",
            EventFilter(advancedFilters: [.init(operatorType: .numberIn, key: "data.target.size", values: [3023])]),
            on: Events.pushedCloudEvent, true),
    ]

    @Test(arguments: eventTypes)
    func includedEventTypes(_ example: EventFilterCase) { expectOutcome(example) }

    @Test(arguments: subjects)
    func subjectBeginsAndEndsWith(_ example: EventFilterCase) { expectOutcome(example) }

    @Test(arguments: combinations)
    func everyPartMustHold(_ example: EventFilterCase) { expectOutcome(example) }

    @Test(arguments: aliases)
    func envelopeKeysWorkAcrossSchemas(_ example: EventFilterCase) { expectOutcome(example) }

    private func expectOutcome(_ example: EventFilterCase) {
        #expect(example.filter.matches(example.event) == example.expected)
    }

    private static func stringIn(_ key: String, _ value: String) -> EventFilter {
        EventFilter(advancedFilters: [.init(operatorType: .stringIn, key: key, values: [.string(value)])])
    }

    private static func stringBeginsWith(_ key: String, _ value: String) -> EventFilter {
        EventFilter(advancedFilters: [.init(operatorType: .stringBeginsWith, key: key, values: [.string(value)])])
    }
}

@Suite struct EventFilterCodingTests {
    static let armJSON = """
        {
          "includedEventTypes": ["Microsoft.ContainerRegistry.ImagePushed"],
          "subjectBeginsWith": "aci-",
          "subjectEndsWith": ":v1",
          "isSubjectCaseSensitive": false,
          "enableAdvancedFilteringOnArrays": true,
          "advancedFilters": [
            {"operatorType": "NumberInRange", "key": "data.target.size", "values": [[1, 10], [3000, 4000.5]]},
            {"operatorType": "NumberGreaterThan", "key": "data.target.size", "value": 1000},
            {"operatorType": "BoolEquals", "key": "data.signed", "value": true},
            {"operatorType": "StringIn", "key": "data.target.repository", "values": ["aci-helloworld", "nginx"]},
            {"operatorType": "IsNotNull", "key": "data.location"}
          ]
        }
        """

    static let armFilter = EventFilter(
        includedEventTypes: ["Microsoft.ContainerRegistry.ImagePushed"],
        subjectBeginsWith: "aci-", subjectEndsWith: ":v1", isSubjectCaseSensitive: false,
        enableAdvancedFilteringOnArrays: true,
        advancedFilters: [
            .init(operatorType: .numberInRange, key: "data.target.size", values: [[1, 10], [3000, 4000.5]]),
            .init(operatorType: .numberGreaterThan, key: "data.target.size", value: 1000),
            .init(operatorType: .boolEquals, key: "data.signed", value: true),
            .init(operatorType: .stringIn, key: "data.target.repository", values: ["aci-helloworld", "nginx"]),
            .init(operatorType: .isNotNull, key: "data.location"),
        ])

    @Test func decodesTheARMShape() throws {
        let decoded = try JSONDecoder().decode(EventFilter.self, from: Data(Self.armJSON.utf8))
        #expect(decoded == Self.armFilter)
        #expect(decoded.matches(FilterTestEvents.pushed))
        #expect(throws: Never.self) { try decoded.validate() }
    }

    @Test func roundTripsThroughJSON() throws {
        let encoded = try JSONEncoder().encode(Self.armFilter)
        #expect(try JSONDecoder().decode(EventFilter.self, from: encoded) == Self.armFilter)
    }

    @Test func encodesOnlyTheMembersThatAreSet() throws {
        let encoded = try #require(JSONValue(parsing: try JSONEncoder().encode(Self.armFilter)))
        let filters = try #require(encoded["advancedFilters"]?.arrayValue)
        #expect(filters[1] == ["operatorType": "NumberGreaterThan", "key": "data.target.size", "value": 1000])
        #expect(filters[4] == ["operatorType": "IsNotNull", "key": "data.location"])
        #expect(JSONValue(parsing: try JSONEncoder().encode(EventFilter())) == [:])
    }

    @Test(arguments: AdvancedFilter.Operator.allCases)
    func everyOperatorRoundTrips(_ operatorType: AdvancedFilter.Operator) throws {
        let filter = AdvancedFilter(
            cliArgumentsFor: operatorType, key: "data.target.size")
        let encoded = try JSONEncoder().encode(filter)
        #expect(JSONValue(parsing: encoded)?["operatorType"] == .string(operatorType.rawValue))
        #expect(try JSONDecoder().decode(AdvancedFilter.self, from: encoded) == filter)
    }

    @Test func unknownOperatorFailsWithAReadableMessage() throws {
        let json = #"{"advancedFilters": [{"operatorType": "NumberBetween", "key": "data.target.size", "values": [1]}]}"#
        let error = try #require(throws: DecodingError.self) {
            try JSONDecoder().decode(EventFilter.self, from: Data(json.utf8))
        }
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted, got \(error)")
            return
        }
        #expect(context.debugDescription.contains("'NumberBetween'"))
        #expect(context.debugDescription.contains("NumberInRange"))
        #expect(context.codingPath.map(\.stringValue).last == "operatorType")
    }

    @Test func operatorNamesIgnoreCase() throws {
        let json = #"{"operatorType": "stringbeginswith", "key": "subject", "values": ["aci-"]}"#
        let filter = try JSONDecoder().decode(AdvancedFilter.self, from: Data(json.utf8))
        #expect(filter.operatorType == .stringBeginsWith)
    }

    @Test func missingOperatorFails() {
        let json = #"{"key": "subject", "values": ["aci-"]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AdvancedFilter.self, from: Data(json.utf8)) }
    }
}

extension AdvancedFilter {
    /// A valid filter for any operator, built the way the CLI builds it.
    fileprivate init(cliArgumentsFor operatorType: Operator, key: String) {
        let values: [String] =
            switch operatorType.operand {
            case .noValue: []
            case .number: ["3000"]
            case .bool: ["true"]
            case .numbers: ["3023", "1024"]
            case .ranges: ["1,10", "3000,4000"]
            case .strings: ["aci-", "nginx"]
            }
        do {
            self = try AdvancedFilter(cliArguments: [key, operatorType.rawValue] + values)
        } catch {
            Issue.record("\(operatorType.rawValue) did not parse: \(error)")
            self = AdvancedFilter(operatorType: operatorType, key: key)
        }
    }
}

/// A filter `validate()` must refuse, and where it must point.
struct InvalidFilterCase: Sendable, CustomTestStringConvertible {
    let name: String
    let filter: EventFilter
    let property: String
    let messageFragment: String

    var testDescription: String { name }
}

@Suite struct FilterValidationTests {
    static let size = "data.target.size"

    static func greaterThan(_ bound: Double) -> AdvancedFilter {
        AdvancedFilter(operatorType: .numberGreaterThan, key: size, value: .number(bound))
    }

    static func numberIn(_ count: Int) -> AdvancedFilter {
        AdvancedFilter(operatorType: .numberIn, key: size, values: (0..<count).map { .number(Double($0)) })
    }

    static func ranges(_ count: Int) -> AdvancedFilter {
        AdvancedFilter(
            operatorType: .numberInRange, key: size,
            values: (0..<count).map { .array([.number(Double($0 * 10)), .number(Double($0 * 10 + 5))]) })
    }

    static func filters(_ advanced: AdvancedFilter...) -> EventFilter { EventFilter(advancedFilters: advanced) }

    static let valid: [EventFilter] = [
        EventFilter(),
        EventFilterCodingTests.armFilter,
        EventFilter(advancedFilters: (0..<25).map { greaterThan(Double($0)) }),
        filters(numberIn(25)),
        filters(numberIn(20), numberIn(5)),
        filters(ranges(25)),
        filters(numberIn(24), .init(operatorType: .isNotNull, key: "subject"), greaterThan(1)),
        filters(.init(operatorType: .stringIn, key: "subject", values: [.string(String(repeating: "a", count: 512))])),
        filters(.init(operatorType: .numberInRange, key: size, values: [[3023, 3023]])),
        filters(.init(operatorType: .boolEquals, key: "data.signed", value: false)),
        EventFilter(includedEventTypes: ["All"]),
    ]

    static let invalid: [InvalidFilterCase] = [
        .init(
            name: "26 advanced filters", filter: EventFilter(advancedFilters: (0..<26).map { greaterThan(Double($0)) }),
            property: "properties.filter.advancedFilters", messageFragment: "at most 25 advanced filters"),
        .init(
            name: "26 values in one filter", filter: filters(numberIn(26)),
            property: "properties.filter.advancedFilters[0].values", messageFragment: "at most 25 filter values"),
        .init(
            name: "26 values across filters", filter: filters(numberIn(20), greaterThan(1), numberIn(5)),
            property: "properties.filter.advancedFilters[2].values", messageFragment: "have 26"),
        .init(
            name: "a single value counts too", filter: filters(ranges(25), greaterThan(1)),
            property: "properties.filter.advancedFilters[1].value", messageFragment: "at most 25 filter values"),
        .init(
            name: "513-character string",
            filter: filters(.init(operatorType: .stringIn, key: "subject", values: ["aci-", .string(String(repeating: "a", count: 513))])),
            property: "properties.filter.advancedFilters[0].values[1]", messageFragment: "512 characters"),
        .init(
            name: "multi-value operator without values",
            filter: filters(greaterThan(1), .init(operatorType: .stringIn, key: "subject")),
            property: "properties.filter.advancedFilters[1].values", messageFragment: "needs at least one value"),
        .init(
            name: "multi-value operator with empty values",
            filter: filters(.init(operatorType: .stringNotContains, key: "subject", values: [])),
            property: "properties.filter.advancedFilters[0].values", messageFragment: "needs at least one value"),
        .init(
            name: "multi-value operator with a single value",
            filter: filters(.init(operatorType: .numberIn, key: size, value: 3023)),
            property: "properties.filter.advancedFilters[0].value", messageFragment: "takes a 'values' list"),
        .init(
            name: "single-value operator without value",
            filter: filters(.init(operatorType: .numberLessThan, key: size)),
            property: "properties.filter.advancedFilters[0].value", messageFragment: "needs a 'value'"),
        .init(
            name: "single-value operator with values",
            filter: filters(.init(operatorType: .numberLessThan, key: size, values: [1])),
            property: "properties.filter.advancedFilters[0].values", messageFragment: "single 'value'"),
        .init(
            name: "number operator with a string",
            filter: filters(.init(operatorType: .numberLessThan, key: size, value: "100")),
            property: "properties.filter.advancedFilters[0].value", messageFragment: "needs a number; got a string"),
        .init(
            name: "BoolEquals with a number",
            filter: filters(.init(operatorType: .boolEquals, key: "data.signed", value: 1)),
            property: "properties.filter.advancedFilters[0].value", messageFragment: "needs a boolean"),
        .init(
            name: "BoolEquals with a string",
            filter: filters(.init(operatorType: .boolEquals, key: "data.signed", value: "true")),
            property: "properties.filter.advancedFilters[0].value", messageFragment: "got a string"),
        .init(
            name: "NumberIn with a string among numbers",
            filter: filters(.init(operatorType: .numberNotIn, key: size, values: [1, "2"])),
            property: "properties.filter.advancedFilters[0].values[1]", messageFragment: "needs a number"),
        .init(
            name: "StringIn with a number",
            filter: filters(.init(operatorType: .stringIn, key: "subject", values: ["aci-", 3])),
            property: "properties.filter.advancedFilters[0].values[1]", messageFragment: "needs a string; got a number"),
        .init(
            name: "range with one bound",
            filter: filters(.init(operatorType: .numberInRange, key: size, values: [[1]])),
            property: "properties.filter.advancedFilters[0].values[0]", messageFragment: "[lo, hi]"),
        .init(
            name: "range with a string bound",
            filter: filters(.init(operatorType: .numberNotInRange, key: size, values: [[1, 5], [1, "10"]])),
            property: "properties.filter.advancedFilters[0].values[1]", messageFragment: "[lo, hi]"),
        .init(
            name: "range that is a number",
            filter: filters(.init(operatorType: .numberInRange, key: size, values: [5])),
            property: "properties.filter.advancedFilters[0].values[0]", messageFragment: "got a number"),
        .init(
            name: "range upside down",
            filter: filters(.init(operatorType: .numberInRange, key: size, values: [[10, 1]])),
            property: "properties.filter.advancedFilters[0].values[0]", messageFragment: "[10, 1] has lo greater than hi"),
        .init(
            name: "IsNotNull with a value",
            filter: filters(.init(operatorType: .isNotNull, key: "subject", value: true)),
            property: "properties.filter.advancedFilters[0].value", messageFragment: "takes no value"),
        .init(
            name: "IsNullOrUndefined with values",
            filter: filters(.init(operatorType: .isNullOrUndefined, key: "subject", values: [])),
            property: "properties.filter.advancedFilters[0].values", messageFragment: "takes no values"),
        .init(
            name: "empty key",
            filter: filters(greaterThan(1), .init(operatorType: .isNotNull, key: "")),
            property: "properties.filter.advancedFilters[1].key", messageFragment: "must not be empty"),
        .init(
            name: "blank key", filter: filters(.init(operatorType: .isNotNull, key: "  ")),
            property: "properties.filter.advancedFilters[0].key", messageFragment: "must not be empty"),
        .init(
            name: "empty event type",
            filter: EventFilter(includedEventTypes: ["Microsoft.ContainerRegistry.ImagePushed", ""]),
            property: "properties.filter.includedEventTypes[1]", messageFragment: "must not be empty"),
    ]

    @Test(arguments: valid)
    func acceptsFiltersWithinTheLimits(_ filter: EventFilter) {
        #expect(throws: Never.self) { try filter.validate() }
    }

    @Test(arguments: invalid)
    func refusesAndNamesTheProperty(_ example: InvalidFilterCase) throws {
        let error = try #require(throws: FilterValidationError.self) { try example.filter.validate() }
        #expect(error.property == example.property)
        #expect(error.message.contains(example.messageFragment), "\(error.message)")
        #expect(error.description == "\(example.property): \(error.message)")
    }
}

/// One `--advanced-filter` argument list and what it must become.
struct CLIFilterCase: Sendable, CustomTestStringConvertible {
    let arguments: [String]
    let expected: AdvancedFilter

    var testDescription: String { arguments.joined(separator: " ") }
}

/// One `--advanced-filter` argument list the CLI must refuse.
struct InvalidCLIFilterCase: Sendable, CustomTestStringConvertible {
    let arguments: [String]
    let messageFragment: String

    var testDescription: String { arguments.map { $0.count > 40 ? "<\($0.count) chars>" : $0 }.joined(separator: " ") }
}

@Suite struct AdvancedFilterCLITests {
    static let parsed: [CLIFilterCase] = [
        .init(
            arguments: ["data.target.size", "NumberInRange", "1,10", "20,30"],
            expected: .init(operatorType: .numberInRange, key: "data.target.size", values: [[1, 10], [20, 30]])),
        .init(
            arguments: ["data.target.size", "numbernotinrange", "0, 1.5"],
            expected: .init(operatorType: .numberNotInRange, key: "data.target.size", values: [[0, 1.5]])),
        .init(
            arguments: ["data.target.size", "NumberGreaterThan", "3000"],
            expected: .init(operatorType: .numberGreaterThan, key: "data.target.size", value: 3000)),
        .init(
            arguments: ["data.target.size", "NUMBERLESSTHANOREQUALS", "1e6"],
            expected: .init(operatorType: .numberLessThanOrEquals, key: "data.target.size", value: 1_000_000)),
        .init(
            arguments: ["data.target.size", "NumberGreaterThanOrEquals", "-2.5"],
            expected: .init(operatorType: .numberGreaterThanOrEquals, key: "data.target.size", value: -2.5)),
        .init(
            arguments: ["data.target.size", "NumberLessThan", "10"],
            expected: .init(operatorType: .numberLessThan, key: "data.target.size", value: 10)),
        .init(
            arguments: ["data.signed", "BoolEquals", "true"],
            expected: .init(operatorType: .boolEquals, key: "data.signed", value: true)),
        .init(
            arguments: ["data.quarantined", "boolequals", "FALSE"],
            expected: .init(operatorType: .boolEquals, key: "data.quarantined", value: false)),
        .init(
            arguments: ["data.target.size", "NumberIn", "1024", "3023"],
            expected: .init(operatorType: .numberIn, key: "data.target.size", values: [1024, 3023])),
        .init(
            arguments: ["data.target.size", "NumberNotIn", "0"],
            expected: .init(operatorType: .numberNotIn, key: "data.target.size", values: [0])),
        .init(
            arguments: ["data.target.repository", "StringIn", "aci-helloworld", "nginx"],
            expected: .init(operatorType: .stringIn, key: "data.target.repository", values: ["aci-helloworld", "nginx"])),
        .init(
            arguments: ["data.target.repository", "StringNotIn", "scratch,tmp"],
            expected: .init(operatorType: .stringNotIn, key: "data.target.repository", values: ["scratch,tmp"])),
        .init(
            arguments: ["data.target.mediaType", "StringContains", "manifest"],
            expected: .init(operatorType: .stringContains, key: "data.target.mediaType", values: ["manifest"])),
        .init(
            arguments: ["data.target.mediaType", "StringNotContains", "helm"],
            expected: .init(operatorType: .stringNotContains, key: "data.target.mediaType", values: ["helm"])),
        .init(
            arguments: ["subject", "StringBeginsWith", "aci-"],
            expected: .init(operatorType: .stringBeginsWith, key: "subject", values: ["aci-"])),
        .init(
            arguments: ["subject", "StringNotBeginsWith", "tmp-"],
            expected: .init(operatorType: .stringNotBeginsWith, key: "subject", values: ["tmp-"])),
        .init(
            arguments: ["subject", "StringEndsWith", ":v1", ":latest"],
            expected: .init(operatorType: .stringEndsWith, key: "subject", values: [":v1", ":latest"])),
        .init(
            arguments: ["subject", "StringNotEndsWith", ":dev"],
            expected: .init(operatorType: .stringNotEndsWith, key: "subject", values: [":dev"])),
        .init(arguments: ["subject", "IsNotNull"], expected: .init(operatorType: .isNotNull, key: "subject")),
        .init(
            arguments: ["data.connectedRegistry", "IsNullOrUndefined"],
            expected: .init(operatorType: .isNullOrUndefined, key: "data.connectedRegistry")),
    ]

    static let refused: [InvalidCLIFilterCase] = [
        .init(arguments: [], messageFragment: "expected KEY OPERATOR [VALUE...]"),
        .init(arguments: ["subject"], messageFragment: "expected KEY OPERATOR [VALUE...]"),
        .init(arguments: ["subject", "StringLike", "aci-"], messageFragment: "unknown operator 'StringLike'"),
        .init(arguments: ["data.target.size", "NumberGreaterThan"], messageFragment: "exactly one number"),
        .init(arguments: ["data.target.size", "NumberGreaterThan", "1", "2"], messageFragment: "exactly one number"),
        .init(arguments: ["data.target.size", "NumberLessThan", "big"], messageFragment: "'big' is not a number"),
        .init(arguments: ["data.target.size", "NumberIn", "1", "two"], messageFragment: "'two' is not a number"),
        .init(arguments: ["data.target.size", "NumberIn", "inf"], messageFragment: "'inf' is not a number"),
        .init(arguments: ["data.target.size", "NumberNotIn"], messageFragment: "at least one value"),
        .init(arguments: ["data.signed", "BoolEquals", "yes"], messageFragment: "true or false"),
        .init(arguments: ["data.signed", "BoolEquals"], messageFragment: "exactly one value"),
        .init(arguments: ["data.target.size", "NumberInRange", "5"], messageFragment: "lo,hi"),
        .init(arguments: ["data.target.size", "NumberInRange", "1,2,3"], messageFragment: "lo,hi"),
        .init(arguments: ["data.target.size", "NumberNotInRange", "1,x"], messageFragment: "'x' is not a number"),
        .init(arguments: ["data.target.size", "NumberInRange", "10,1"], messageFragment: "lo greater than hi"),
        .init(arguments: ["data.target.size", "NumberInRange"], messageFragment: "at least one value"),
        .init(arguments: ["subject", "StringIn"], messageFragment: "at least one value"),
        .init(arguments: ["subject", "IsNotNull", "x"], messageFragment: "takes no value"),
        .init(arguments: ["", "StringIn", "aci-"], messageFragment: "key must not be empty"),
        .init(arguments: ["subject", "StringIn", String(repeating: "a", count: 513)], messageFragment: "512 characters"),
    ]

    @Test(arguments: parsed)
    func parsesTheAzForm(_ example: CLIFilterCase) throws {
        #expect(try AdvancedFilter(cliArguments: example.arguments) == example.expected)
    }

    @Test func everyOperatorHasACLIForm() {
        let covered = Set(Self.parsed.map(\.expected.operatorType))
        #expect(covered == Set(AdvancedFilter.Operator.allCases))
    }

    @Test(arguments: refused)
    func refusesWithAReadableMessage(_ example: InvalidCLIFilterCase) throws {
        let error = try #require(throws: FilterValidationError.self) {
            try AdvancedFilter(cliArguments: example.arguments)
        }
        #expect(error.property.hasPrefix("--advanced-filter"))
        #expect(error.message.contains(example.messageFragment), "\(error.message)")
    }

    @Test func parsedFiltersMatchLikeTheirJSONForm() throws {
        let inRange = try AdvancedFilter(cliArguments: ["data.target.size", "NumberInRange", "1,10", "3000,4000"])
        let outOfRange = try AdvancedFilter(cliArguments: ["data.target.size", "NumberInRange", "1,10", "20,30"])
        let pushed = try AdvancedFilter(cliArguments: ["data.action", "StringIn", "PUSH"])
        #expect(inRange.matches(FilterTestEvents.pushed, arrays: false))
        #expect(!outOfRange.matches(FilterTestEvents.pushed, arrays: false))
        #expect(pushed.matches(FilterTestEvents.pushedCloudEvent, arrays: false))
    }
}
