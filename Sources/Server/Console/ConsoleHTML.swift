import Foundation
import Hummingbird
import HTTPTypes

/// The console's HTML: every page in one layout, every value escaped. The
/// colours meet WCAG AA (4.5:1 and more) and every control is reachable by
/// keyboard with a visible focus ring; tables scroll sideways on a phone.
enum ConsoleHTML {
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A page; `csrf` is nil on the sign-in page (no navigation, no sign-out).
    static func page(title: String, csrf: String?, refreshSeconds: Int? = nil, _ body: String) -> String {
        let navigation = csrf.map { csrf in
            """
            <header><nav aria-label="Console">
            <a href="/console/registries">Registries</a>
            <a href="/console/topics">Custom topics</a>
            <a href="/console/deadletters">Dead letters</a>
            <a href="/console/operations">Operations</a>
            <a href="/console/kafka">Kafka</a>
            <form method="post" action="/console/logout" class="inline">\(csrfField(csrf))<button type="submit" class="link">Sign out</button></form>
            </nav></header>
            """
        } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            \(refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
            <title>\(escape(title)) · RegistryEvents</title>
            <style>\(style)</style></head>
            <body><a class="skip" href="#main">Skip to content</a>
            \(navigation)
            <main id="main"><h1>\(escape(title))</h1>
            \(body)
            </main></body></html>
            """
    }

    static func csrfField(_ csrf: String) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(csrf))\">"
    }

    /// A message in a box; `role="alert"` so screen readers announce it.
    static func notice(_ text: String, error: Bool) -> String {
        "<p class=\"notice \(error ? "error" : "ok")\" role=\"\(error ? "alert" : "status")\">\(escape(text))</p>"
    }

    /// A table that scrolls sideways on narrow screens.
    static func table(caption: String, headers: [String], rows: [[String]]) -> String {
        let head = headers.map { "<th scope=\"col\">\(escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return """
            <div class="scroll" tabindex="0" role="region" aria-label="\(escape(caption))"><table>
            <caption>\(escape(caption))</caption><thead><tr>\(head)</tr></thead>
            <tbody>\(rows.isEmpty ? "<tr><td colspan=\"\(headers.count)\">None yet.</td></tr>" : body)</tbody></table></div>
            """
    }

    static func response(_ html: String, status: HTTPResponse.Status = .ok, setCookie: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if let setCookie { headers[.setCookie] = setCookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(to location: String, setCookie: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        if let setCookie { headers[.setCookie] = setCookie }
        return Response(status: .seeOther, headers: headers)
    }

    static let style = """
        :root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
        body{margin:0;color:#1b1b1b;background:#fff}
        main{max-width:1200px;margin:0 auto;padding:1rem}
        header{background:#12335b}
        nav{max-width:1200px;margin:0 auto;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;align-items:center}
        nav a,nav .link{color:#fff;font-weight:600}
        a{color:#0b4fb3}
        a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus,.scroll:focus{outline:3px solid #c25700;outline-offset:2px}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
        h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}
        .scroll{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;width:100%;font-size:.95rem}
        caption{text-align:left;font-weight:600;padding:.25rem 0}
        th,td{border-bottom:1px solid #8a8a8a;padding:.4rem .5rem;text-align:left;vertical-align:top}
        th{background:#eef1f5}
        form.stack{display:grid;grid-template-columns:minmax(0,1fr);gap:.75rem;max-width:40rem}
        form.stack>*{min-width:0}
        form.inline{display:inline}
        label{font-weight:600;display:block}
        label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}label.check input{width:auto;margin:0}
        input[type=text],input[type=password],input[type=url],select,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #595959;border-radius:4px}
        fieldset{border:1px solid #595959;border-radius:4px;min-width:0}
        button{font:inherit;background:#0b4fb3;color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;cursor:pointer}
        button.danger{background:#a4161a}
        button.link{background:none;padding:0;text-decoration:underline}
        .notice{padding:.6rem .8rem;border-radius:4px;border:1px solid}
        .notice.error{background:#fdecea;border-color:#a4161a;color:#6e0f12}
        .notice.ok{background:#e7f4ea;border-color:#1e6b34;color:#14461f}
        .muted{color:#4a4a4a}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.5rem;border-radius:4px}
        @media (max-width:600px){dl{grid-template-columns:1fr}main{padding:.75rem}}
        """
}

/// An `application/x-www-form-urlencoded` body.
struct ConsoleForm {
    private var fields: [(String, String)] = []

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            fields.append((Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : ""))
        }
    }

    static func read(_ request: Request) async throws -> ConsoleForm {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        return ConsoleForm(String(buffer: buffer))
    }

    subscript(name: String) -> String? { fields.first { $0.0 == name }?.1 }

    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }

    private static func decode(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
    }
}
