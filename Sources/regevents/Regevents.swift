import ArgumentParser

/// The root command; `EntryPoint` parses and runs it.
struct Regevents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regevents",
        abstract: "RegistryEvents: container registry events on Kafka, delivered as ACR webhooks and Event Grid subscriptions.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, BrokerCommand.self, PublishCommand.self, WebhookCommand.self, SubscriptionCommand.self, TopicCommand.self, TopicsCommand.self, TailCommand.self, DeadLetterCommand.self, ReplayCommand.self, OperationsCommand.self]
    )
}
