/// The journal's `MESSAGE_ID` of the events an operator filters for (`journalctl MESSAGE_ID=…`), as sd-id128 hex.
///
/// A log call names one with the metadata key `message_id`; the journal handler turns it into the `MESSAGE_ID`
/// field and leaves it out of plain lines. The ids are fixed forever (docs/install.md lists them): changing one
/// breaks every saved filter.
public enum LogMessageID: String, Sendable, CaseIterable, CustomStringConvertible {
    case runStarted = "d5deccf8c5a5489cb97e3a86c98ccca6"
    case runFinished = "bc7e10fd1e2b46ae870c253712ea48db"
    case childKilled = "7015bd80a94a4f1c96576607b2b7b273"
    case breakerOpened = "96f866e046ea474183bf0eb5867f60ec"
    case leaderChanged = "faba1f790e7b4910a47ae1c1b81fdb50"

    /// The metadata key that carries an id.
    public static let metadataKey = "message_id"

    public var description: String { rawValue }
}
