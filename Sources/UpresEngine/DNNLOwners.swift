import CDNNL
import CEngineShims

/// A primitive descriptor: the kernel oneDNN chose for an operation and its memory layouts.
/// Owns its handle (destroyed with it), so no code path can leak or double-free it.
final class DNNLPrimitiveDesc {
    let handle: dnnl_primitive_desc_t

    init(owning handle: dnnl_primitive_desc_t) { self.handle = handle }
    deinit { dnnl_primitive_desc_destroy(handle) }

    /// The kernel's name (`jit:avx512_core_bf16`, `brg:avx512_core_vnni`, `ref:any`...).
    var implementation: String { String(cString: upres_dnnl_impl_name(handle)) }
    var isReference: Bool { implementation.hasPrefix("ref") }

    func memoryDesc(_ what: dnnl_query_t) -> dnnl_memory_desc_t { queryMD(handle, what) }

    /// A reorder from `a` to `b` (with `attr`'s scales and zero points).
    static func reorder(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t, _ ctx: DNNLContext,
                        _ attr: DNNLAttributes? = nil) throws -> DNNLPrimitiveDesc {
        var s = a, d = b
        var pd: dnnl_primitive_desc_t? = nil
        let attributes = try attr ?? DNNLAttributes()
        try dnnl(DNNLCreation.serialized { dnnl_reorder_primitive_desc_create(&pd, &s, ctx.engine, &d, ctx.engine, attributes.handle) },
                 attr == nil ? "reorder" : "scaled reorder")
        return DNNLPrimitiveDesc(owning: pd!)
    }

    /// The concatenation of `sources` along channels into `dst`.
    static func concat(_ sources: [dnnl_memory_desc_t], into dst: dnnl_memory_desc_t, _ ctx: DNNLContext) throws -> DNNLPrimitiveDesc {
        var mds = sources, dmd = dst
        var pd: dnnl_primitive_desc_t? = nil
        let attributes = try DNNLAttributes()
        try dnnl(DNNLCreation.serialized { dnnl_concat_primitive_desc_create(&pd, &dmd, Int32(mds.count), 1, &mds, attributes.handle, ctx.engine) },
                 "concat")
        return DNNLPrimitiveDesc(owning: pd!)
    }
}

/// A primitive's attributes: output scales, zero points and post-ops. Every primitive upres makes
/// has a user-managed scratchpad (`DNNLPrimitive`): oneDNN's own is one buffer per thread, made
/// and sized when a primitive is created, so a primitive created on one thread and run on another,
/// or destroyed on another, reads a buffer that is too small or freed.
final class DNNLAttributes {
    let handle: dnnl_primitive_attr_t

    init() throws {
        var a: dnnl_primitive_attr_t? = nil
        try dnnl(dnnl_primitive_attr_create(&a), "attr")
        handle = a!
        try dnnl(dnnl_primitive_attr_set_scratchpad_mode(handle, dnnl_scratchpad_mode_user), "scratchpad mode")
    }
    deinit { dnnl_primitive_attr_destroy(handle) }

    /// Attaches a copy of `postOps` (oneDNN copies them: they may be dropped afterwards).
    func set(_ postOps: DNNLPostOps) throws { try dnnl(dnnl_primitive_attr_set_post_ops(handle, postOps.handle), "set post ops") }
}

/// A chain of post-ops (eltwise, binary, PReLU) run in a primitive's kernel after its operation.
final class DNNLPostOps {
    let handle: dnnl_post_ops_t

    init() throws {
        var p: dnnl_post_ops_t? = nil
        try dnnl(dnnl_post_ops_create(&p), "post ops")
        handle = p!
    }
    deinit { dnnl_post_ops_destroy(handle) }
}
