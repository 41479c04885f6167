import Foundation
import CDNNL
import CEngineShims

/// A failed oneDNN call (`dnnl_status_t`), with what upres asked for.
public struct DNNLError: Error, CustomStringConvertible, Sendable {
    public let status: UInt32
    public let context: String
    public var description: String { "oneDNN: \(DNNLError.name(status)) (\(context))" }
    public var isUnimplemented: Bool { status == dnnl_unimplemented.rawValue }

    static func name(_ s: UInt32) -> String {
        switch s {
        case dnnl_out_of_memory.rawValue: return "out of memory"
        case dnnl_invalid_arguments.rawValue: return "invalid arguments"
        case dnnl_unimplemented.rawValue: return "unimplemented"
        case dnnl_runtime_error.rawValue: return "runtime error"
        default: return "status \(s)"
        }
    }
}

@inline(__always)
func dnnl(_ status: dnnl_status_t, _ context: @autoclosure () -> String) throws {
    if status != dnnl_success { throw DNNLError(status: status.rawValue, context: context()) }
}

/// oneDNN 2.6 does not create primitives safely side by side: measured here, two threads making
/// convolution primitives at once now and then get a kernel that computes wrong numbers (every
/// run of it, and every later session that oneDNN's primitive cache hands it to). Primitive and
/// descriptor creation therefore run one at a time, process-wide; running them stays parallel.
enum DNNLCreation {
    private static let lock = NSLock()
    static func serialized<T>(_ body: () throws -> T) rethrows -> T { try lock.withLock(body) }
}

/// Owns a oneDNN CPU engine and an in-order stream (one per worker).
final class DNNLContext {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    init() throws {
        var e: dnnl_engine_t? = nil
        try dnnl(dnnl_engine_create(&e, dnnl_cpu, 0), "creating the CPU engine")
        engine = e!
        var s: dnnl_stream_t? = nil
        let made = dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue)
        if made != dnnl_success { dnnl_engine_destroy(e) }
        try dnnl(made, "creating a stream")
        stream = s!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }
}

/// A memory descriptor builder (dims in NCHW order, logical).
enum MemoryDesc {
    static func make(_ dims: [Int], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        try dnnl(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type, tag), "memory desc \(dims)")
        return md
    }

    static func strided(_ dims: [Int], _ strides: [Int], _ type: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }, s = strides.map { Int64($0) }
        try dnnl(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, type, s), "strided memory desc \(dims)")
        return md
    }

    static func size(_ md: dnnl_memory_desc_t) -> Int {
        var m = md
        return Int(dnnl_memory_desc_get_size(&m))
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var x = a, y = b
        return dnnl_memory_desc_equal(&x, &y) != 0
    }
}

/// A oneDNN memory object over a buffer it keeps alive: an `AlignedBuffer` (`buffer:`), or
/// another memory it views with another descriptor (`viewing:`). Whoever runs a primitive on
/// it keeps the memory; the memory keeps its storage.
final class DNNLMemory {
    let memory: dnnl_memory_t
    let desc: dnnl_memory_desc_t
    private let storage: AnyObject

    private init(_ desc: dnnl_memory_desc_t, _ ctx: DNNLContext, handle: UnsafeMutableRawPointer, storage: AnyObject) throws {
        var md = desc
        var m: dnnl_memory_t? = nil
        try dnnl(dnnl_memory_create(&m, &md, ctx.engine, handle), "creating memory")
        memory = m!
        self.desc = desc
        self.storage = storage
    }

    /// Memory of `desc` in `buffer` (at least `MemoryDesc.size(desc)` bytes).
    convenience init(_ desc: dnnl_memory_desc_t, _ ctx: DNNLContext, buffer: AlignedBuffer) throws {
        precondition(buffer.size >= MemoryDesc.size(desc), "buffer smaller than its memory")
        try self.init(desc, ctx, handle: buffer.pointer, storage: buffer)
    }

    /// `base`'s bytes read with another descriptor (a strided view for pixel shuffle).
    convenience init(_ desc: dnnl_memory_desc_t, _ ctx: DNNLContext, viewing base: DNNLMemory) throws {
        try self.init(desc, ctx, handle: base.handle, storage: base)
    }

    deinit { dnnl_memory_destroy(memory) }

    var handle: UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer? = nil
        dnnl_memory_get_data_handle(memory, &p)
        return p!
    }
}

/// 64-byte aligned raw memory.
final class AlignedBuffer {
    let pointer: UnsafeMutableRawPointer
    let size: Int
    init(size: Int) {
        self.size = max(size, 64)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.size, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: self.size)
    }
    deinit { pointer.deallocate() }
}

/// A created primitive, the name of the kernel oneDNN chose for it, and the scratchpad it needs
/// (user-managed, `DNNLAttributes`): a session passes one shared buffer to all its primitives,
/// which run one after another (`Session.shareScratchpad`); a one-off run gets a buffer of its own.
final class DNNLPrimitive {
    let primitive: dnnl_primitive_t
    let implementation: String
    let scratchpad: dnnl_memory_desc_t
    var scratchpadSize: Int { MemoryDesc.size(scratchpad) }

    /// The primitive of `pd` (which its owner keeps or drops: the primitive needs it no more).
    init(_ pd: DNNLPrimitiveDesc, _ context: String) throws {
        var p: dnnl_primitive_t? = nil
        try dnnl(DNNLCreation.serialized { dnnl_primitive_create(&p, pd.handle) }, "creating \(context)")
        primitive = p!
        implementation = pd.implementation
        scratchpad = pd.memoryDesc(dnnl_query_scratchpad_md)
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// Runs with `args`; a scratchpad is made for this run when the primitive needs one and
    /// `args` has none.
    func execute(_ ctx: DNNLContext, _ args: [dnnl_exec_arg_t]) throws {
        var all = args
        var scratch: (AlignedBuffer, DNNLMemory)? = nil
        if scratchpadSize > 0 && !args.contains(where: { $0.arg == DNNL_ARG_SCRATCHPAD }) {
            let buffer = AlignedBuffer(size: scratchpadSize)
            let memory = try DNNLMemory(scratchpad, ctx, buffer: buffer)
            scratch = (buffer, memory)
            all.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory.memory))
        }
        try all.withUnsafeBufferPointer {
            try dnnl(dnnl_primitive_execute(primitive, ctx.stream, Int32($0.count), $0.baseAddress), "executing \(implementation)")
        }
        if scratch != nil { dnnl_stream_wait(ctx.stream) }
        withExtendedLifetime(scratch) {}
    }
}

/// Creates a primitive descriptor from an operation descriptor, returning nil when oneDNN has
/// no implementation for it (so the caller can fall back), throwing on other errors.
func makePrimitiveDesc<D>(_ desc: inout D, _ attr: DNNLAttributes?, _ ctx: DNNLContext,
                          _ what: String) throws -> DNNLPrimitiveDesc? {
    var pd: dnnl_primitive_desc_t? = nil
    let attributes = try attr ?? DNNLAttributes()
    let status = withUnsafePointer(to: &desc) { d in
        DNNLCreation.serialized { dnnl_primitive_desc_create(&pd, UnsafeRawPointer(d), attributes.handle, ctx.engine, nil) }
    }
    if status == dnnl_unimplemented { return nil }
    try dnnl(status, what)
    return DNNLPrimitiveDesc(owning: pd!)
}

/// The memory descriptor `what` of `pd`; a zero descriptor (size 0) where it has none.
func queryMD(_ pd: dnnl_primitive_desc_t, _ what: dnnl_query_t) -> dnnl_memory_desc_t {
    dnnl_primitive_desc_query_md(pd, what, 0)?.pointee ?? dnnl_memory_desc_t()
}

/// bf16 <-> f32 (round to nearest even).
@inline(__always) func bf16(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    if f.isNaN { return 0x7FC0 }
    return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
}

@inline(__always) func float(fromBF16 b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

enum OpenMP {
    /// oneDNN's OpenMP threads for the calling thread (workers use 1; parallelism comes from tiles).
    static func setThreads(_ n: Int) { upres_omp_set_num_threads(Int32(n)) }
}
