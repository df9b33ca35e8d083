#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `text` to `fd`, through short writes and EINTR. False on an error, with `errno` saying which.
func writeFully(_ fd: Int32, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return false }
        written += count
    }
    return true
}
