import Foundation
import NIOHTTP1

/// A complete HTTP request as the router sees it.
struct SimRequest {
    let method: HTTPMethod
    let path: String
    let query: [String: String]
    let headers: HTTPHeaders
    let body: [UInt8]
    /// Form fields: query string merged with an urlencoded body (the body wins).
    let form: [String: String]

    init(method: HTTPMethod, path: String, query: [String: String], headers: HTTPHeaders, body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        var fields = query
        let isJSON = headers.first(name: "Content-Type")?.contains("json") == true
        if !isJSON {
            for (key, value) in FormDecoding.decode(String(decoding: body, as: UTF8.self)) { fields[key] = value }
        }
        self.form = fields
    }

    var cookies: [String: String] {
        var result: [String: String] = [:]
        for header in headers[canonicalForm: "cookie"] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2 { result[pair[0]] = pair[1] }
            }
        }
        return result
    }
}

/// A response before faults, compression and framing.
struct SimResponse {
    var status: HTTPResponseStatus
    var contentType: String
    var headers: [(String, String)] = []
    var body: [UInt8]
    /// Portal answers are gzip-compressed when the client accepts it.
    var compressible = true

    static let html = "text/html; charset=utf-8"
    static let json = "application/json; charset=utf-8"

    static func text(_ status: HTTPResponseStatus, _ body: String, type: String = html) -> SimResponse {
        SimResponse(status: status, contentType: type, body: Array(body.utf8))
    }
}

/// `application/x-www-form-urlencoded` decoding.
enum FormDecoding {
    static func decode(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.map({ unescape(String($0)) }), !name.isEmpty else { return nil }
            return (name, parts.count > 1 ? unescape(String(parts[1])) : "")
        }
    }

    static func unescape(_ text: String) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }
}

/// Static pages KRX serves around the data: error pages, the login pages.
enum Pages {
    static let blockPage = """
        <!DOCTYPE html>
        <html lang="ko">
        <head>
        <meta charset="utf-8">
        <title>에러페이지 - 한국거래소</title>
        </head>
        <body>
        <div class="error_wrap">
        <h1>접속이 제한되었습니다</h1>
        <p>자동화 수단을 통한 비정상 대량 조회가 감지되어 해당 IP의 접속이 일시적으로 제한되었습니다.</p>
        <p>제한은 탐지일로부터 1일간 적용되며, 동일한 행위가 재탐지될 경우 재적용됩니다.</p>
        <p>데이터가 필요하신 경우 KRX Open API(openapi.krx.co.kr) 등 공식 경로를 이용해 주시기 바랍니다.</p>
        </div>
        </body>
        </html>
        """

    static let serviceUnavailable = """
        <!DOCTYPE html>
        <html>
        <head><meta charset="utf-8"><title>Service unavailable</title></head>
        <body>
        <h1>Service unavailable</h1>
        <p>The service is not smooth due to temporary access instability.</p>
        <p><span>서비스 제공 불가능</span> 일시적인 접속 불안정으로 인하여 서비스가 원활하지 않습니다.</p>
        </body>
        </html>
        """

    static func serverError(_ status: Int) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(status) Error</title></head>
        <body><h1>HTTP Status \(status)</h1><p>서비스 제공 불가능</p></body></html>
        """
    }

    static let loginLanding = """
        <!DOCTYPE html>
        <html lang="ko"><head><meta charset="utf-8"><title>로그인 | KRX 정보데이터시스템</title></head>
        <body><div id="loginArea"><iframe src="/contents/MDC/COMS/client/view/login.jsp?site=mdc"></iframe></div></body>
        </html>
        """

    static let loginForm = """
        <!DOCTYPE html>
        <html lang="ko"><head><meta charset="utf-8"><title>로그인</title></head>
        <body>
        <form id="loginForm" method="post" action="/contents/MDC/COMS/client/MDCCOMS001D1.cmd">
        <input type="hidden" name="mbrNm" value=""><input type="hidden" name="telNo" value="">
        <input type="hidden" name="di" value=""><input type="hidden" name="certType" value="">
        <input type="text" name="mbrId"><input type="password" name="pw">
        </form>
        </body></html>
        """
}
