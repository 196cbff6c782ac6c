import Kafka
@testable import Server
import TestSupport
import Testing

@Suite("Configuration is checked before anything starts", .machineHeavy)
struct ConfigurationTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("[::1]:9000", "::1", 9000), (":7000", "0.0.0.0", 7000),
        ("localhost:0", "localhost", 0),
    ])
    func listenAddressesParse(_ text: String, _ host: String, _ port: Int) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: ["nonsense", "127.0.0.1", "127.0.0.1:99999", "host:-1", "a b:80", "127.0.0.1:http"])
    func badListenAddressesNameTheFlag(_ text: String) {
        let error = #expect(throws: ConfigurationError.self) { try ListenAddress(parsing: text) }
        #expect(error?.flag == "--listen")
        #expect(error?.description.contains(text) == true)
    }

    @Test func zeroPartitionsIsRefused() {
        let configuration = ServerConfiguration(partitions: 0)
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.flag == "--partitions")
    }

    @Test func aTopicPrefixKafkaWouldRefuseIsRefused() {
        let configuration = ServerConfiguration(topicPrefix: "bad prefix/x")
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.flag == "--topic-prefix")
    }

    @Test(arguments: ["nohost", "host:", "host:0", "a:1,,b:2", "kafka:notaport"])
    func malformedBrokerListsAreRefused(_ brokers: String) {
        let configuration = ServerConfiguration(kafkaBrokers: brokers)
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.flag == "--kafka-brokers")
    }

    @Test func wellFormedBrokerListsPass() throws {
        try ServerConfiguration(kafkaBrokers: "kafka-1:9092, kafka-2:9092,SSL://kafka-3:9093").validate()
    }

    @Test func replicationBeyondTheEmbeddedBrokersIsRefused() {
        let configuration = ServerConfiguration(replicationFactor: 3, embeddedBrokers: 1)
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(error?.flag == "--replication-factor")
    }

    @Test func anUnreachableClusterFailsNamingTheBrokersFlag() async throws {
        var configuration = ServerConfiguration(kafkaBrokers: "127.0.0.1:1")
        configuration.kafkaStartupTimeout = .seconds(1)
        do {
            _ = try await KafkaConnection.connect(configuration, logger: serverTestLogger)
            Issue.record("connecting to a closed port succeeded")
        } catch let error as ConfigurationError {
            #expect(error.flag == "--kafka-brokers")
            #expect(error.message.contains("127.0.0.1:1"))
        }
    }

    @Test func aBadKafkaPropertyFailsNamingItsFlag() async throws {
        var configuration = ServerConfiguration(kafkaProperties: [KafkaProperty(key: "bogus.key", value: "1")])
        configuration.kafkaStartupTimeout = .seconds(1)
        do {
            _ = try await KafkaConnection.connect(configuration, logger: serverTestLogger)
            Issue.record("a bogus property was accepted")
        } catch let error as ConfigurationError {
            #expect(error.flag == "--kafka-property")
            #expect(error.message.contains("bogus.key"))
        }
    }
}

@Suite("Where a chart's config is read from", .machineHeavy)
struct ChartConfigLocationTests {
    @Test(arguments: [
        ("http://127.0.0.1:5055/v2/charts/x/manifests/sha256:ab", "http://127.0.0.1:5055"),
        ("https://registry.example/v2/x/manifests/sha256:ab", "https://registry.example"),
        ("http://[::1]:5000/v2/x/manifests/sha256:ab", "http://[::1]:5000"),
    ])
    func theManifestURLGivesSchemeAndHost(_ url: String, _ base: String) {
        #expect(ChartConfigReader.registryBase(of: url) == base)
    }

    @Test(arguments: ["ftp://host/v2/x", "file:///etc/passwd", "not a url", ""])
    func otherURLsAreNotFollowed(_ url: String) {
        #expect(ChartConfigReader.registryBase(of: url) == nil)
    }
}
