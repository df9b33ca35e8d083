/// What is missing for the configured sources to authenticate, found when galaxyd starts: an operator learns it from
/// one journal line and `status` at once, not from every collector failing at 18:00 (exit 78, "credential missing").
/// Each problem names the source, the missing secret, and both places it could come from (the variable and the
/// credential file systemd's `LoadCredential=` provides), so the fix is in the message.
extension GalaxyConfiguration {
    public func credentialProblems(credentialsDirectory: String?) -> [String] {
        let kinds = Set([source] + sourceOverrides.values)
        var problems: [String] = []
        func whereFrom(_ variable: String, _ file: String) -> String {
            let fileText = credentialsDirectory.map { "\($0)/\(file) is missing or empty" }
                ?? "there is no $CREDENTIALS_DIRECTORY with \(file)"
            return "\(variable) is not set and \(fileText) (galaxyd.service: LoadCredential=\(file):"
                + "/etc/galaxy/credentials/\(file))"
        }
        if kinds.contains(.portal) {
            switch (credentials.memberID, credentials.memberPassword) {
            case (nil, nil):
                problems.append(
                    "the data portal source has no KRX member login (KRX answers LOGOUT to anonymous requests): "
                        + whereFrom("KRX_ID", "krx-id") + "; likewise KRX_PW / krx-pw")
            case (nil, _):
                problems.append(
                    "the data portal source has a password but no member ID: " + whereFrom("KRX_ID", "krx-id"))
            case (_, nil):
                problems.append(
                    "the data portal source has a member ID but no password: " + whereFrom("KRX_PW", "krx-pw"))
            default:
                break
            }
        }
        if kinds.contains(.openapi), credentials.authKey == nil {
            problems.append("the Open API source has no AUTH_KEY: " + whereFrom("KRX_AUTH_KEY", "krx-auth-key"))
        }
        return problems
    }
}
