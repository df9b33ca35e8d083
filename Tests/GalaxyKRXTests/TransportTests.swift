import Foundation
import Testing

@testable import GalaxyKRX

/// An HTTPS server in a Python child process with a freshly made self-signed certificate.
private final class SelfSignedServer {
    let process = Process()
    let directory: URL
    let port: Int

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("krx-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key.pem").path
        let cert = directory.appendingPathComponent("cert.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj",
            "/CN=127.0.0.1",
        ]
        openssl.standardError = FileHandle.nullDevice
        openssl.standardOutput = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        let script = """
            import http.server, ssl, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b'{"ok":[]}'
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args): pass
            server = http.server.HTTPServer(('127.0.0.1', 0), H)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, cert, key]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line: [UInt8] = []
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard let first = byte.first, first != UInt8(ascii: "\n") else { break }
            line.append(first)
        }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    func stop() {
        // SIGKILL: the test runner's children can inherit an ignored or blocked SIGTERM, and then terminate() waits
        // forever.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("libcurl transport")
struct TransportTests {
    @Test("TLS verification is on: a self-signed certificate is refused unless verification is turned off")
    func tlsVerification() throws {
        let server = try SelfSignedServer()
        defer { server.stop() }
        #expect(server.port > 0)
        let request = HTTPRequest(method: .get, url: "https://127.0.0.1:\(server.port)/")
        let strict = try CurlHTTPClient(configuration: HTTPClientConfiguration(connectTimeout: 2, totalTimeout: 5))
        do {
            _ = try strict.perform(request)
            Issue.record("a self-signed certificate must not be accepted")
        } catch KRXError.transport(let message) {
            #expect(message.contains("curl 60"))  // CURLE_PEER_FAILED_VERIFICATION
        }
        let lax = try CurlHTTPClient(
            configuration: HTTPClientConfiguration(connectTimeout: 2, totalTimeout: 5, verifyTLS: false))
        let response = try lax.perform(request)
        #expect(response.status == 200 && response.text == #"{"ok":[]}"#)
    }

    @Test("connection refused is a transport error naming the URL without its query")
    func refused() throws {
        // Bind a port, then close it: nothing listens there now.
        let server = try TestHTTPServer.start { _ in TestHTTPServer.Response(body: "") }
        let port = server.port
        server.shutdown()
        let client = try CurlHTTPClient(configuration: HTTPClientConfiguration(connectTimeout: 1, totalTimeout: 2))
        do {
            _ = try client.perform(HTTPRequest(method: .get, url: "http://127.0.0.1:\(port)/svc/apis/x?basDd=1"))
            Issue.record("nothing listens there")
        } catch KRXError.transport(let message) {
            #expect(message.contains("curl 7") && message.hasSuffix("for http://127.0.0.1:\(port)/svc/apis/x"))
        }
    }

    @Test("a server that never answers is a timeout, counted as one for the metrics; a refused connection is not")
    func timeout() throws {
        // A listening socket nobody accepts from: the kernel completes the handshake, and no answer ever comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                try #require(bind(fd, address, length) == 0 && listen(fd, 4) == 0)
                try #require(getsockname(fd, address, &length) == 0)
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let client = try CurlHTTPClient(configuration: HTTPClientConfiguration(connectTimeout: 1, totalTimeout: 1))
        do {
            _ = try client.perform(HTTPRequest(method: .get, url: "http://127.0.0.1:\(port)/svc/apis/x"))
            Issue.record("nothing answers there")
        } catch KRXError.transport(let message) {
            #expect(KRXTransport.kind(of: .transport(message)) == .timeout, "\(message)")
        }
        #expect(KRXTransport.kind(of: .transport("Connection refused (curl 7) for http://127.0.0.1/")) == .transport)
    }

    @Test("a body over the limit is refused")
    func bodyLimit() throws {
        let server = try TestHTTPServer.start { _ in TestHTTPServer.Response(body: String(repeating: "x", count: 10_000)) }
        defer { server.shutdown() }
        let client = try CurlHTTPClient(configuration: HTTPClientConfiguration(maxBodyBytes: 4096))
        do {
            _ = try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/"))
            Issue.record("the body exceeds the limit")
        } catch KRXError.transport(let message) {
            #expect(message.contains("exceeds 4096 bytes"))
        }
    }

    @Test("redirects are followed and the final response's headers are kept")
    func redirect() throws {
        let server = try TestHTTPServer.start { request in
            request.path == "/old"
                ? TestHTTPServer.Response(status: 302, headers: [("Location", "/new"), ("X-Hop", "1")], body: "")
                : TestHTTPServer.Response(headers: [("X-Final", "yes")], body: "done")
        }
        defer { server.shutdown() }
        let client = try CurlHTTPClient()
        let response = try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/old"))
        #expect(response.status == 200 && response.text == "done")
        #expect(response.header("x-final") == "yes" && response.header("X-Hop") == nil)
    }

    @Test("cookies set by the server are sent back and can be forgotten")
    func cookies() throws {
        let server = try TestHTTPServer.start { request in
            request.path == "/set"
                ? TestHTTPServer.Response(headers: [("Set-Cookie", "JSESSIONID=abc; Path=/; HttpOnly")], body: "")
                : TestHTTPServer.Response(body: request.header("Cookie") ?? "none")
        }
        defer { server.shutdown() }
        let client = try CurlHTTPClient()
        _ = try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/set"))
        #expect(try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/echo")).text == "JSESSIONID=abc")
        #expect(client.cookieNames() == ["JSESSIONID"])
        client.clearCookies()
        #expect(try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/echo")).text == "none")
    }
}
