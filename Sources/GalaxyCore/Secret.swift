/// A credential (password, API key). Its `description` and `debugDescription` never show the value, so a secret
/// that ends up in a log line, an error message or `status` output by accident shows as `<redacted>`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The value itself. Read it only where it leaves the process towards its intended peer.
    public let revealed: String

    public init(_ value: String) { self.revealed = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
