#if canImport(Glibc)
import Glibc
#endif

/// The command `GALAXY_ON_FAILURE` names: an absolute executable and fixed arguments, split once at start.
///
/// Split like a systemd unit's `ExecStart=` (white space separates words; `"…"` and `'…'` group; `\` escapes the next
/// character outside single quotes) but with no variable expansion and no shell: the words are what `execve` gets,
/// and nothing an event carries is ever put on this command line — the event goes to the hook's stdin.
public struct HookCommand: Sendable, Equatable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]

    public init(executable: String, arguments: [String] = []) {
        self.executable = executable
        self.arguments = arguments
    }

    /// Parses and checks `text` as the value of `variable`: the first word must be an absolute path to an executable
    /// file (`isExecutable`, by default `access(X_OK)`).
    public init(
        parsing text: String, variable: String,
        isExecutable: (String) -> Bool = { access($0, X_OK) == 0 }
    ) throws(ConfigurationError) {
        let words: [String]
        do {
            words = try Self.split(text)
        } catch {
            throw ConfigurationError(variable: variable, problem: "\(error.reason) in '\(text)'")
        }
        guard let first = words.first else {
            throw ConfigurationError(variable: variable, problem: "no command")
        }
        guard first.hasPrefix("/") else {
            throw ConfigurationError(
                variable: variable,
                problem: "'\(first)' is not an absolute path; name the hook's executable as /path/to/program")
        }
        var status = stat()
        guard stat(first, &status) == 0, status.st_mode & S_IFMT == S_IFREG, isExecutable(first) else {
            throw ConfigurationError(variable: variable, problem: "\(first) is not an executable file")
        }
        self.init(executable: first, arguments: Array(words.dropFirst()))
    }

    public var description: String { ([executable] + arguments).joined(separator: " ") }

    public struct SplitError: Error, Sendable {
        public let reason: String
    }

    /// `ExecStart=`-style word splitting without expansion.
    public static func split(_ text: String) throws(SplitError) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                word.append(character)
                escaped = false
                continue
            }
            switch (quote, character) {
            case ("'", "'"), ("\"", "\""):
                quote = nil
            case ("'", _):
                word.append(character)
            case (_, "\\"):
                escaped = true
                inWord = true
            case ("\"", _):
                word.append(character)
            case (nil, "'"), (nil, "\""):
                quote = character
                inWord = true
            case (nil, _) where character.isWhitespace:
                if inWord { words.append(word) }
                word = ""
                inWord = false
            default:
                word.append(character)
                inWord = true
            }
        }
        if escaped { throw SplitError(reason: "a trailing backslash") }
        if quote != nil { throw SplitError(reason: "an unterminated quote") }
        if inWord { words.append(word) }
        return words
    }
}
