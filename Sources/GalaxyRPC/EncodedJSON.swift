import FoundationEssentials
import GalaxyCore

/// A JSON value already written as compact text.
///
/// Why: `status` is one report shared by every client asking at the same moment; writing it once and splicing the
/// text into each response (rather than converting a typed report to a ``JSONValue`` and writing that per caller)
/// is what keeps fifty polling clients cheap.
public struct EncodedJSON: Sendable, Hashable {
    /// Compact JSON text (one line, no trailing newline).
    public let text: String

    /// Encodes `value` with keys in sorted order (as ``JSONValue`` writes objects) and `/` unescaped, so the text is
    /// byte-for-byte stable for the same value.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public init(_ value: JSONValue) {
        text = value.jsonText
    }
}
