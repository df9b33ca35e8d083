import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where `swift build` put the executables (beside the test bundle).
public enum BuiltProducts {
    public static var directory: String {
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: own).deletingLastPathComponent()
        // Inside an .xctest bundle directory on some layouts.
        while url.lastPathComponent.hasSuffix(".xctest") || url.lastPathComponent == "Contents"
            || url.lastPathComponent == "MacOS"
        {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    public static func path(_ name: String) -> String { directory + "/" + name }
}

/// A private temporary directory, removed by `remove()`. Short paths: Unix socket addresses must fit 107 bytes.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "galaxy") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw TestDatabaseError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
        chmod(path, 0o755)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes an executable script.
    public func script(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        chmod(target, 0o755)
        return target
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
