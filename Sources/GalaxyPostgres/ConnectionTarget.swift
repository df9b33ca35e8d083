internal import CLibPQ
import FoundationEssentials
import GalaxyCore

/// Where a connection string points, with the password taken out so it can go into errors and logs.
///
/// `GALAXY_DATABASE_URL` may be a URL (`postgresql://user:pw@host:5432/db`, `postgresql:///db?host=/run/pg`) or a
/// libpq conninfo (`host=/run/pg dbname=galaxy`); libpq's own parser reads both, so what we show is what libpq will
/// use. The password is kept only to scrub it from any message that might echo it.
public struct ConnectionTarget: Sendable, CustomStringConvertible {
    /// The string as given (contains the password; never print it).
    let conninfo: String
    /// `host=… port=… dbname=… user=…` from the parsed string (missing keys use libpq's defaults).
    public let description: String
    /// Every spelling of the password that could show up in a message: as parsed, and as written in the URL.
    let secrets: [String]
    /// The parsed connection parameters that were set (`host`, `port`, `dbname`, `user`, …), without `password`.
    public let parameters: [String: String]
    /// The password, if the string had one (kept apart so that `parameters` can be shown).
    let password: String?

    /// Parses `conninfo`; a string libpq cannot parse becomes a connection error naming `GALAXY_DATABASE_URL`.
    public init(_ conninfo: String) throws(PostgresError) {
        self.conninfo = conninfo
        var secrets = Self.rawURLPassword(conninfo).map { [$0] } ?? []
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            var message = "GALAXY_DATABASE_URL is not a valid PostgreSQL URL or conninfo string"
            if let errorMessage {
                let detail = String(cString: errorMessage).trimmingWhitespace
                PQfreemem(errorMessage)
                message += ": " + Self.scrub(detail, secrets + [conninfo])
            }
            throw PostgresError(kind: .connection, message: message)
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                values[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        password = values["password"].flatMap { $0.isEmpty ? nil : $0 }
        if let password { secrets.append(password) }
        self.secrets = secrets
        values["password"] = nil
        parameters = values
        var parts: [String] = []
        for key in ["host", "hostaddr", "port", "dbname", "user"] {
            if let value = values[key], !value.isEmpty { parts.append("\(key)=\(Self.scrub(value, secrets))") }
        }
        description = parts.isEmpty ? "libpq defaults (PG* environment)" : parts.joined(separator: " ")
    }

    /// A key=value conninfo equivalent to the parsed string with some parameters replaced (`["dbname": "x"]`), for
    /// tools and tests that derive one database's address from another's. The result contains the password when
    /// the original did: treat it as a secret.
    public func conninfo(replacing overrides: [String: String] = [:], includingPassword: Bool = true) -> String {
        var all = parameters
        if includingPassword, let password { all["password"] = password }
        for (key, value) in overrides { all[key] = value }
        return all.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
            return "\(key)='\(escaped)'"
        }.joined(separator: " ")
    }

    /// The password, for handing to a child process through its environment (`PGPASSWORD`) rather than argv.
    public var secretPassword: Secret? { password.map(Secret.init) }

    /// `message` with every spelling of the password replaced by `<redacted>`.
    func scrub(_ message: String) -> String { Self.scrub(message, secrets) }

    static func scrub(_ message: String, _ secrets: [String]) -> String {
        var text = message
        for secret in secrets.sorted(by: { $0.count > $1.count }) {
            text = PostgresError.scrub(text, removing: secret)
        }
        return text
    }

    /// The password as written between `user:` and `@` in a URL, before percent-decoding.
    static func rawURLPassword(_ conninfo: String) -> String? {
        guard let scheme = conninfo.firstRange(of: "://") else { return nil }
        let rest = conninfo[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return nil }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return nil }
        let password = userInfo[userInfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }
}
