import CDeflate
import CZlib

/// gzip, as KRX compresses every portal answer when the client accepts it.
///
/// libdeflate at level 1 (whole-buffer DEFLATE, standard gzip member: any gzip reader, libcurl's zlib included,
/// reads it): a whole-market answer (~950 kB) compresses in ~2 ms instead of zlib level 1's ~6 ms, and the simulator
/// compresses one such answer per collected day. zlib (`deflateInit2` with windowBits 31 = gzip wrapper) remains the
/// fallback when libdeflate cannot allocate its compressor.
enum Gzip {
    static func compress(_ input: [UInt8], level: Int32 = 1) -> [UInt8]? {
        if let compressed = libdeflate(input, level: level) { return compressed }
        return zlib(input, level: level)
    }

    static func libdeflate(_ input: [UInt8], level: Int32) -> [UInt8]? {
        guard let compressor = libdeflate_alloc_compressor(level) else { return nil }
        defer { libdeflate_free_compressor(compressor) }
        let bound = libdeflate_gzip_compress_bound(compressor, input.count)
        var written = 0
        let output = [UInt8](unsafeUninitializedCapacity: bound) { outBuffer, count in
            written = input.withUnsafeBytes { inBuffer in
                libdeflate_gzip_compress(compressor, inBuffer.baseAddress, inBuffer.count, outBuffer.baseAddress, bound)
            }
            count = written
        }
        return written > 0 ? output : nil
    }

    static func zlib(_ input: [UInt8], level: Int32) -> [UInt8]? {
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
