import Foundation
import Hummingbird
import Logging
import RegistryEvents
import Store

/// The validation URL of Event Grid's manual handshake: a GET with the code
/// the endpoint was sent, within 10 minutes, validates the subscription. The
/// code is the credential, so this route needs no admin token.
struct ValidationController<Context: RequestContext> {
    let store: any SubscriptionStore
    let hooks: SubscriptionHooks?
    let logger: Logger

    struct Validated: ResponseCodable {
        var message: String
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("eventSubscriptions/validate", use: validate)
    }

    @Sendable func validate(_ request: Request, context: Context) async throws -> Validated {
        let query = request.uri.queryParameters
        guard let scopeText = query.get("scope"), let scope = SubscriptionScope(description: scopeText),
            let name = query.get("name"), let code = query.get("code")
        else {
            throw APIError.badRequest("the validation URL needs scope, name and code", code: "InvalidValidationRequest")
        }
        guard var subscription = try await store.subscription(scope: scope, name: name),
            subscription.provisioningState == .awaitingManualAction, let expected = subscription.validationCode,
            PublishAuthentication.constantTimeEqual(code, expected)
        else {
            throw APIError.notFound("no event subscription awaits validation with this code")
        }
        let effective = SubscriptionResource.effectiveState(subscription, now: Date())
        guard effective.state == .awaitingManualAction else {
            subscription.provisioningState = .failed
            subscription.provisioningMessage = effective.message
            _ = try await store.putSubscription(subscription)
            throw APIError(.gone, code: "ValidationExpired", message: "the validation URL expired 10 minutes after it was sent")
        }
        subscription.provisioningState = .succeeded
        subscription.provisioningMessage = nil
        subscription.validationCode = nil
        subscription.validationStartedAt = nil
        subscription.updatedAt = Date()
        _ = try await store.putSubscription(subscription)
        await hooks?.changed()
        logger.info("Event subscription validated by its validation URL", metadata: ["scope": "\(scope)", "subscription": "\(name)"])
        return Validated(
            message: "Webhook successfully validated as a part of the event subscription \(name); events will be delivered to it")
    }
}
