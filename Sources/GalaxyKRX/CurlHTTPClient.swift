import CCurl
import CCurlShims
import Foundation

/// One HTTP request as the KRX clients need it: a GET or a form POST with a few headers.
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST" }

    public var method: Method
    public var url: String
    public var headers: [(name: String, value: String)]
    /// The request body (already encoded, e.g. `application/x-www-form-urlencoded`); only for POST.
    public var body: String?

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [], body: String? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back: status, the final response's headers (after redirects) and the decoded (gunzipped) body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name (case-insensitive), trimmed.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The body as UTF-8 text (invalid sequences replaced), for classification and error excerpts.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Timeouts and limits of the libcurl transport.
public struct HTTPClientConfiguration: Sendable {
    /// Seconds to establish the TCP (and TLS) connection.
    public var connectTimeout: Double
    /// Seconds for the whole exchange; a hung server costs at most this per attempt.
    public var totalTimeout: Double
    /// A body larger than this (decoded) is refused: a whole-market day is a few MiB, anything far larger is not KRX.
    public var maxBodyBytes: Int
    /// Certificate and host-name verification. Always on for KRX; only the tests' plain-HTTP servers do without it.
    public var verifyTLS: Bool

    public init(
        connectTimeout: Double = 10, totalTimeout: Double = 60, maxBodyBytes: Int = 64 << 20, verifyTLS: Bool = true
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxBodyBytes = maxBodyBytes
        self.verifyTLS = verifyTLS
    }
}

/// A blocking HTTP client over one reused libcurl easy handle.
///
/// Reusing the handle keeps the connection alive between requests (KRX answers `Connection: keep-alive`), keeps
/// libcurl's in-memory cookie jar (the member session's `JSESSIONID`) and its TLS session cache. Requests are
/// serialised by a lock: the handle must never be used by two threads at once. `perform` blocks the calling thread for
/// up to `totalTimeout`, so call it from a collector process's own thread, never from Swift's cooperative pool.
public final class CurlHTTPClient: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let lock = NSLock()
    public let configuration: HTTPClientConfiguration

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws {
        let initResult = galaxy_curl_global_init_once()
        guard initResult == CURLE_OK else {
            throw KRXError.transport("curl_global_init failed: \(String(cString: curl_easy_strerror(initResult)))")
        }
        guard let handle = curl_easy_init() else {
            throw KRXError.transport("curl_easy_init failed (out of memory?)")
        }
        self.handle = handle
        self.configuration = configuration
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try configureHandle()
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    private func configureHandle() throws {
        try set(CURLOPT_NOSIGNAL, 1)  // timeouts without SIGALRM: safe in a multi-threaded process
        try set(CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout * 1000))
        try set(CURLOPT_TIMEOUT_MS, Int(configuration.totalTimeout * 1000))
        try set(CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0)
        try set(CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0)
        // Sends "Accept-Encoding: gzip, deflate" as browsers do; the body is decoded after the transfer, whole, by
        // `ContentDecoding` (libdeflate), not by libcurl's streaming zlib (three times the CPU).
        try set(CURLOPT_ACCEPT_ENCODING, "gzip, deflate")
        try set(CURLOPT_HTTP_CONTENT_DECODING, 0)
        try set(CURLOPT_COOKIEFILE, "")  // enables the in-memory cookie engine without reading a file
        try set(CURLOPT_FOLLOWLOCATION, 1)
        try set(CURLOPT_MAXREDIRS, 5)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try check(galaxy_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), option: "ERRORBUFFER")
        try check(
            galaxy_curl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlBodyCallback), option: "WRITEFUNCTION")
        try check(
            galaxy_curl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback),
            option: "HEADERFUNCTION")
    }

    /// Sends the request and waits for the whole response. HTTP error statuses are responses, not errors; only a
    /// failed exchange (connect, timeout, TLS, truncated or oversized body) throws `KRXError.transport`.
    public func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        lock.lock()
        defer { lock.unlock() }

        let sink = ResponseSink(limit: configuration.maxBodyBytes)
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        if request.method == .post, !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headerList = curl_slist_append(headerList, "Content-Type: application/x-www-form-urlencoded")
        }
        // libcurl adds "Expect: 100-continue" to larger POSTs; KRX and the simulator answer directly.
        headerList = curl_slist_append(headerList, "Expect:")

        try set(CURLOPT_URL, request.url)
        switch request.method {
        case .get:
            try set(CURLOPT_HTTPGET, 1)
        case .post:
            try set(CURLOPT_POST, 1)
            try set(CURLOPT_POSTFIELDSIZE, -1)
            try set(CURLOPT_COPYPOSTFIELDS, request.body ?? "")
        }
        try check(galaxy_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), option: "HTTPHEADER")

        errorBuffer[0] = 0
        let code: CURLcode = withExtendedLifetime(sink) {
            let context = Unmanaged.passUnretained(sink).toOpaque()
            _ = galaxy_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
            _ = galaxy_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
            return curl_easy_perform(handle)
        }
        _ = galaxy_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, nil)
        _ = galaxy_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, nil)
        _ = galaxy_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, nil)

        guard code == CURLE_OK else {
            if sink.overflowed {
                throw KRXError.transport(
                    "response from \(Self.redacted(request.url)) exceeds \(configuration.maxBodyBytes) bytes")
            }
            throw KRXError.transport(describe(code, url: request.url))
        }
        var status = 0
        _ = galaxy_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        let encoding = sink.headers.last { $0.name.lowercased() == "content-encoding" }?.value
        let body: [UInt8]
        do {
            body = try ContentDecoding.decode(sink.body, encoding: encoding, limit: configuration.maxBodyBytes)
        } catch .tooLarge {
            throw KRXError.transport(
                "response from \(Self.redacted(request.url)) exceeds \(configuration.maxBodyBytes) bytes")
        } catch .corrupt(let name) {
            // What libcurl's own decoding reported as CURLE_BAD_CONTENT_ENCODING: worth another attempt.
            throw KRXError.transport("corrupt \(name) body from \(Self.redacted(request.url))")
        } catch .unsupported(let name) {
            throw KRXError.transport("unsupported Content-Encoding \"\(name)\" from \(Self.redacted(request.url))")
        }
        return HTTPResponse(status: status, headers: sink.headers, body: body)
    }

    /// Forgets every cookie (the member session), e.g. before a fresh login.
    public func clearCookies() {
        lock.lock()
        defer { lock.unlock() }
        _ = galaxy_curl_setopt_string(handle, CURLOPT_COOKIELIST, "ALL")
    }

    /// The cookies libcurl holds, as Netscape cookie-file lines — values included, so they only ever go to the
    /// private shared-session file (``KRXPortalClient``), never to a log.
    func exportCookies() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        let code = withUnsafeMutablePointer(to: &list) { pointer in
            pointer.withMemoryRebound(to: UnsafeMutablePointer<CChar>?.self, capacity: 1) {
                galaxy_curl_getinfo_string(handle, CURLINFO_COOKIELIST, $0)
            }
        }
        guard code == CURLE_OK else { return [] }
        defer { curl_slist_free_all(list) }
        var lines: [String] = []
        var node = list
        while let current = node {
            if let data = current.pointee.data { lines.append(String(cString: data)) }
            node = current.pointee.next
        }
        return lines
    }

    /// Replaces the cookie jar with `lines` (from ``exportCookies()`` of another process).
    func importCookies(_ lines: [String]) {
        lock.lock()
        defer { lock.unlock() }
        _ = galaxy_curl_setopt_string(handle, CURLOPT_COOKIELIST, "ALL")
        for line in lines { _ = galaxy_curl_setopt_string(handle, CURLOPT_COOKIELIST, line) }
    }

    /// The names (never the values) of the cookies libcurl holds, for diagnostics and tests.
    public func cookieNames() -> [String] {
        // Netscape format: domain, tailmatch, path, secure, expires, name, value (tab-separated).
        exportCookies().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            return fields.count >= 6 ? String(fields[5]) : nil
        }
    }

    private func describe(_ code: CURLcode, url: String) -> String {
        let detail = String(cString: errorBuffer)
        let summary = String(cString: curl_easy_strerror(code))
        let message = detail.isEmpty ? summary : detail
        return "\(message) (curl \(code.rawValue)) for \(Self.redacted(url))"
    }

    /// Whether a transport error's message (written by `describe`) says libcurl gave up waiting.
    static func isTimeout(_ message: String) -> Bool {
        message.contains("(curl \(CURLE_OPERATION_TIMEDOUT.rawValue))")
    }

    /// The URL without its query string: queries carry no secrets in galaxy, but keep error messages short and safe.
    static func redacted(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        return String(url[..<question])
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(galaxy_curl_setopt_long(handle, option, value), option: "\(option.rawValue)")
    }

    private func set(_ option: CURLoption, _ value: String) throws {
        try check(galaxy_curl_setopt_string(handle, option, value), option: "\(option.rawValue)")
    }

    private func check(_ code: CURLcode, option: String) throws {
        guard code == CURLE_OK else {
            throw KRXError.transport(
                "curl_easy_setopt(\(option)) failed: \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

/// Collects one response's headers and body from libcurl's callbacks.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var overflowed = false
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func appendBody(_ pointer: UnsafeRawBufferPointer) -> Bool {
        guard body.count + pointer.count <= limit else {
            overflowed = true
            return false
        }
        body.append(contentsOf: pointer)
        return true
    }

    func appendHeaderLine(_ line: String) {
        let trimmed = line.krxTrimmed
        if trimmed.hasPrefix("HTTP/") {
            headers.removeAll()  // a new response (redirect, 100 Continue): keep only the final one's headers
            return
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return }
        let name = String(trimmed[..<colon]).krxTrimmed
        let value = String(trimmed[trimmed.index(after: colon)...]).krxTrimmed
        headers.append((name, value))
    }
}

private let curlBodyCallback: galaxy_curl_write_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return sink.appendBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private let curlHeaderCallback: galaxy_curl_write_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    sink.appendHeaderLine(String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self))
    return length
}
