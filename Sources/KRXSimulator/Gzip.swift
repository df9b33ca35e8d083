import CZlib

/// gzip via zlib (`deflateInit2` with windowBits 31 = gzip wrapper), as KRX compresses every portal answer when
/// the client accepts it. Level 1: a whole-market body (~1 MB) compresses in a few milliseconds.
enum Gzip {
    static func compress(_ input: [UInt8], level: Int32 = 1) -> [UInt8]? {
        var stream = z_stream()
        let initResult = deflateInit2_(
            &stream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initResult == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count))) + 32
        var status: Int32 = Z_STREAM_ERROR
        // Uninitialised capacity: zero-filling a ~1 MB buffer per answer cost as much as a tenth of the compression.
        let output = [UInt8](unsafeUninitializedCapacity: bound) { outBuffer, count in
            status = input.withUnsafeBufferPointer { inBuffer in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
            count = status == Z_STREAM_END ? Int(stream.total_out) : 0
        }
        guard status == Z_STREAM_END else { return nil }
        return output
    }
}
