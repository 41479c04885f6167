import CDNNL

/// What this build's network engine is: the oneDNN library it runs on.
public enum EngineInfo {
    /// "oneDNN 2.6.3 (OpenMP)", from the library loaded at run time.
    public static var oneDNN: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN (unknown version)" }
        let runtime: String
        switch UInt32(v.cpu_runtime) {
        case DNNL_RUNTIME_OMP: runtime = "OpenMP"
        case DNNL_RUNTIME_TBB: runtime = "TBB"
        case DNNL_RUNTIME_SEQ: runtime = "sequential"
        case DNNL_RUNTIME_THREADPOOL: runtime = "threadpool"
        default: runtime = "runtime \(v.cpu_runtime)"
        }
        return "oneDNN \(v.major).\(v.minor).\(v.patch) (\(runtime))"
    }
}
