import RegistryEvents
import Testing

@Suite struct SpellingSuggestionTests {
    @Test(arguments: [
        ("endpoint", "endpont", 1),
        ("list", "lsit", 1),
        ("maxEventsPerBatch", "maxEventPerBatch", 1),
        ("webhook", "webhok", 1),
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("same", "same", 0),
    ])
    func countsInsertionsDeletionsSubstitutionsAndSwaps(_ a: String, _ b: String, _ distance: Int) {
        #expect(SpellingSuggestion.editDistance(a, b) == distance)
        #expect(SpellingSuggestion.editDistance(b, a) == distance)
    }

    @Test func suggestsTheClosestKnownName() {
        let options = ["--endpoint", "--name", "--event-ttl", "--labels"]
        #expect(SpellingSuggestion.closest(to: "--endpont", among: options) == "--endpoint")
        #expect(SpellingSuggestion.closest(to: "--lables", among: options) == "--labels")
    }

    @Test func ignoresCaseSoAWrongCapitalIsSuggested() {
        #expect(SpellingSuggestion.closest(to: "MaxEventsPerBatch", among: ["maxEventsPerBatch"]) == "maxEventsPerBatch")
    }

    @Test func suggestsNothingWhenNoNameIsClose() {
        #expect(SpellingSuggestion.closest(to: "expirationTimeUtc", among: ["destination", "filter", "labels"]) == nil)
        // Two letters may not be changed in a three-letter name.
        #expect(SpellingSuggestion.closest(to: "abc", among: ["xyc"]) == nil)
        #expect(SpellingSuggestion.closest(to: "x", among: ["r", "n"]) == nil)
    }

    @Test func prefersTheNearerCandidateThenTheEarlier() {
        #expect(SpellingSuggestion.closest(to: "lst", among: ["last", "list"]) == "last")
        #expect(SpellingSuggestion.closest(to: "showw", among: ["shows", "show"]) == "shows")
    }
}
