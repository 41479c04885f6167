import Foundation
import CDNNL

/// Convolution weights packed into the layouts and types oneDNN's kernels chose (blocked bf16,
/// s8 with per-channel scales...), kept by their model: every session of the model (each worker,
/// each window size, each precision) reads the one packed copy of a layout, so weights are
/// reordered once per model and layout, not once per session. Packed buffers are written once,
/// under the lock, and only read afterwards.
final class PackedWeights: @unchecked Sendable {
    private struct Entry {
        let node: Int
        var desc: dnnl_memory_desc_t
        let scales: [Float]?
        let buffer: AlignedBuffer
    }

    private var entries: [Entry] = []
    private let lock = NSLock()

    /// Packed copies made so far (tests).
    var count: Int { lock.withLock { entries.count } }

    /// The weights of fused-graph node `node` in layout `desc` (quantised with `scales` when
    /// given), packed by `pack` into a fresh buffer the first time any session asks.
    func buffer(node: Int, desc: dnnl_memory_desc_t, scales: [Float]?,
                pack: (AlignedBuffer) throws -> Void) throws -> AlignedBuffer {
        try lock.withLock {
            var wanted = desc
            for i in entries.indices where entries[i].node == node && entries[i].scales == scales
                && dnnl_memory_desc_equal(&entries[i].desc, &wanted) != 0 {
                return entries[i].buffer
            }
            let buffer = AlignedBuffer(size: MemoryDesc.size(desc))
            try pack(buffer)
            entries.append(Entry(node: node, desc: desc, scales: scales, buffer: buffer))
            return buffer
        }
    }
}

extension Session {
    /// `weights` (plain f32, `dims` oihw or goihw) of node `node` in the kernel's layout
    /// `chosen`, from the model's packed copies (made here by `reorder`'s primitive on first use).
    func packedWeights(node: Int, _ weights: [Float], dims: [Int], into chosen: dnnl_memory_desc_t,
                       scales: [Float]? = nil,
                       reorder: (dnnl_memory_desc_t, dnnl_memory_desc_t) throws -> DNNLPrimitive) throws -> DNNLMemory {
        let buffer = try model.packedWeights.buffer(node: node, desc: chosen, scales: scales) { packed in
            let plain = try MemoryDesc.make(dims, dnnl_f32, dims.count == 4 ? dnnl_oihw : dnnl_goihw)
            let plainBuffer = AlignedBuffer(size: weights.count * 4)
            weights.withUnsafeBufferPointer { plainBuffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count * 4) }
            let from = try DNNLMemory(plain, ctx, buffer: plainBuffer)
            let to = try DNNLMemory(chosen, ctx, buffer: packed)
            try reorder(plain, chosen).execute(ctx, [arg(DNNL_ARG_FROM, from), arg(DNNL_ARG_TO, to)])
            dnnl_stream_wait(ctx.stream)
        }
        let memory = try DNNLMemory(chosen, ctx, buffer: buffer)
        memories.append(memory)
        return memory
    }
}
