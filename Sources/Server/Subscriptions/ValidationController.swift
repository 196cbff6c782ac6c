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
    let hooks: any SubscriptionValidating
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
        // Only the round of validation that sent this code, checked and
        // changed in one transaction (a concurrent edit starts a new round).
        let awaiting: @Sendable (EventSubscription) -> Bool = { subscription in
            subscription.provisioningState == .awaitingManualAction
                && subscription.validationCode.map { PublishAuthentication.constantTimeEqual(code, $0) } == true
        }
        let now = Date()
        let expired = try await store.updateSubscription(scope: scope, name: name, if: {
            awaiting($0) && SubscriptionResource.effectiveState($0, now: now).state != .awaitingManualAction
        }) { subscription in
            subscription.provisioningMessage = SubscriptionResource.effectiveState(subscription, now: now).message
            subscription.provisioningState = .failed
        }
        if expired != nil {
            throw APIError(.gone, code: "ValidationExpired", message: "the validation URL expired 10 minutes after it was sent")
        }
        let validated = try await store.updateSubscription(scope: scope, name: name, if: awaiting) { subscription in
            subscription.provisioningState = .succeeded
            subscription.provisioningMessage = nil
            subscription.validationCode = nil
            subscription.validationStartedAt = nil
            subscription.updatedAt = now
        }
        guard validated != nil else { throw APIError.notFound("no event subscription awaits validation with this code") }
        await hooks.changed()
        logger.info("Event subscription validated by its validation URL", metadata: ["scope": "\(scope)", "subscription": "\(name)"])
        return Validated(
            message: "Webhook successfully validated as a part of the event subscription \(name); events will be delivered to it")
    }
}
