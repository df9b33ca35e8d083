import CDeflate

/// Decodes a response body sent with `Content-Encoding: gzip` or `deflate`, whole, with libdeflate.
///
/// The portal compresses every answer (a whole-market day is ~950 kB of JSON in ~220 kB of gzip). libcurl's own
/// decoding (zlib's streaming inflate) was a seventh of the collector's CPU on a range run; libdeflate decompresses the
/// complete body about three times faster, and the body is complete anyway before it is parsed.
enum ContentDecoding {
    enum Failure: Error, Equatable {
        case corrupt(encoding: String)
        case tooLarge
        case unsupported(encoding: String)
    }

    /// The decoded body; `body` itself for no encoding or `identity`.
    ///
    /// - Parameter limit: the largest decoded size accepted (a decompression bomb is refused, not allocated).
    static func decode(_ body: [UInt8], encoding: String?, limit: Int) throws(Failure) -> [UInt8] {
        let name = (encoding ?? "").lowercased().krxTrimmed
        switch name {
        case "", "identity":
            return body
        case _ where body.isEmpty:
            return body
        case "gzip", "x-gzip":
            return try gunzip(body, limit: limit)
        case "deflate":
            // RFC 9110 says zlib-wrapped; some servers send raw DEFLATE. The zlib header check tells them apart.
            if body.count >= 2, body[0] & 0x0F == 8, (UInt16(body[0]) << 8 | UInt16(body[1])) % 31 == 0,
                let zlib = try? inflate(body, limit: limit, kind: .zlib)
            {
                return zlib
            }
            return try inflate(body, limit: limit, kind: .raw)
        default:
            throw .unsupported(encoding: name)
        }
    }

    private enum Kind { case gzip, zlib, raw }

    /// One or more gzip members (concatenated members decode to the concatenation, as zlib and curl do).
    private static func gunzip(_ body: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let (member, consumed) = try inflateMember(body, from: offset, limit: limit - output.count, kind: .gzip)
            output += member
            offset += consumed
            // Trailing zero padding after the last member is tolerated, like gzip(1).
            if body[offset...].allSatisfy({ $0 == 0 }) { break }
        }
        return output
    }

    private static func inflate(_ body: [UInt8], limit: Int, kind: Kind) throws(Failure) -> [UInt8] {
        try inflateMember(body, from: 0, limit: limit, kind: kind).output
    }

    /// Decompresses one stream starting at `offset`; returns it and how many input bytes it took.
    private static func inflateMember(_ body: [UInt8], from offset: Int, limit: Int, kind: Kind) throws(Failure)
        -> (output: [UInt8], consumed: Int)
    {
        guard let decompressor = libdeflate_alloc_decompressor() else { throw .corrupt(encoding: "\(kind)") }
        defer { libdeflate_free_decompressor(decompressor) }
        let input = body.count - offset
        // gzip's trailer holds the size mod 2^32 (exact for one member below 4 GiB); otherwise guess and grow.
        var capacity = max(4 * input, 64 << 10)
        if kind == .gzip, offset == 0, body.count >= 18 {
            let n = body.count
            let size = Int(body[n - 4]) | Int(body[n - 3]) << 8 | Int(body[n - 2]) << 16 | Int(body[n - 1]) << 24
            if size > 0 { capacity = size }
        }
        while true {
            capacity = min(capacity, limit)
            var produced = 0
            var consumed = 0
            var result = LIBDEFLATE_BAD_DATA
            let output = [UInt8](unsafeUninitializedCapacity: max(capacity, 1)) { outBuffer, count in
                result = body.withUnsafeBufferPointer { inBuffer in
                    let start = inBuffer.baseAddress.map { $0 + offset }
                    switch kind {
                    case .gzip:
                        return libdeflate_gzip_decompress_ex(
                            decompressor, start, input, outBuffer.baseAddress, capacity, &consumed, &produced)
                    case .zlib:
                        return libdeflate_zlib_decompress_ex(
                            decompressor, start, input, outBuffer.baseAddress, capacity, &consumed, &produced)
                    case .raw:
                        return libdeflate_deflate_decompress_ex(
                            decompressor, start, input, outBuffer.baseAddress, capacity, &consumed, &produced)
                    }
                }
                count = result == LIBDEFLATE_SUCCESS ? produced : 0
            }
            switch result {
            case LIBDEFLATE_SUCCESS:
                return (output, consumed)
            case LIBDEFLATE_INSUFFICIENT_SPACE:
                guard capacity < limit else { throw .tooLarge }
                capacity = capacity > limit / 2 ? limit : capacity * 2
            default:
                throw .corrupt(encoding: kind == .gzip ? "gzip" : "deflate")
            }
        }
    }
}
