// C shims for the engine: oneDNN macros Swift cannot import, OpenMP, and the peak-rate
// loops of upres bench (peak.c).
#ifndef UPRES_ENGINE_SHIMS_H
#define UPRES_ENGINE_SHIMS_H

// ---------------------------------------------------------------- oneDNN
#include <oneapi/dnnl/dnnl.h>
// DNNL_MEMORY_ALLOCATE is a pointer-cast macro; DNNL_ARG_ATTR_MULTIPLE_POST_OP takes an argument.
static inline int upres_dnnl_arg_post_op(int index, int arg) { return DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | arg; }
static inline const char *upres_dnnl_impl_name(const_dnnl_primitive_desc_t pd) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return "?";
    return name;
}

/// Single-thread fp32 peak of this core in GFLOPS from an FMA loop (peak.c); 0 if unknown.
double upres_measure_peak_gflops(double seconds, int *vector_bits);
/// Single-thread bf16 peak (vdpbf16ps loop, AVX-512 BF16); 0 where the CPU has no bf16 dot products.
double upres_measure_peak_bf16_gflops(double seconds);
/// Single-thread int8 peak in GOPS (vpdpbusd loop, AVX-512 VNNI); 0 where the CPU has no VNNI.
double upres_measure_peak_int8_gops(double seconds);

// ---------------------------------------------------------------- OpenMP
// omp.h lives in GCC's private include dir; declare the one call we need.
void omp_set_num_threads(int n);
static inline void upres_omp_set_num_threads(int n) { omp_set_num_threads(n); }


#endif
