import Hummingbird
import RegistryEvents

/// A name from the route's path, checked by its kind's one rule
/// (`ResourceName`); a bad one is a 400 naming the rule.
enum RouteNames {
    static func require<Context: RequestContext>(_ kind: ResourceName, parameter: String, in context: Context) throws -> String {
        let name = try context.parameters.require(parameter)
        if let problem = kind.problem(with: name) { throw APIError.badRequest(problem, code: kind.errorCode) }
        return name
    }
}
