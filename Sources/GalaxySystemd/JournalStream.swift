#if canImport(Glibc)
import Glibc
#endif

/// Whether a file descriptor is the journal's stream: systemd sets `JOURNAL_STREAM=DEV:INODE` to the stderr it
/// connects to journald, and the variable is inherited by processes whose stderr is something else — so, as
/// sd_journal_print(3) says, it counts only when it names the descriptor's own device and inode (`fstat`).
public enum JournalStream {
    /// `DEV:INODE` parsed; nil when malformed.
    public static func parse(_ text: String) -> (device: UInt64, inode: UInt64)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }

    /// Whether `fileDescriptor` (stderr by default) is the stream `JOURNAL_STREAM` names.
    public static func isJournal(_ fileDescriptor: Int32 = 2, environment: [String: String]) -> Bool {
        guard let text = environment["JOURNAL_STREAM"], let expected = parse(text) else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == expected.device && UInt64(status.st_ino) == expected.inode
    }
}
