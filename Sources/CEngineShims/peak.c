#include <stdint.h>
#include <time.h>
#include "upres_engine_shims.h"

// Measures single-thread peak fp32 FLOPS with independent FMA chains (no memory traffic), so
// "percent of peak" in `upres bench` is against what this core really does, not a datasheet.
static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static double fma_avx512(long iterations) {
    __m512 a[12];
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; n++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

// vdpbf16ps: each 32-bit lane takes two bf16 products and adds them, so one 512-bit
// instruction is 32 multiply-adds (64 FLOPs).
__attribute__((target("avx512f,avx512bf16")))
static double dpbf16_avx512(long iterations) {
    __m512 a[12];
    const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80), c = (__m512bh)_mm512_set1_epi16(0x3380);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; n++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

// vpdpbusd: each 32-bit lane takes four u8 x s8 products and adds them to its s32 sum, so one
// 512-bit instruction is 64 multiply-adds (128 integer ops).
__attribute__((target("avx512f,avx512vnni")))
static double dpbusd_avx512(long iterations) {
    __m512i a[12];
    const __m512i b = _mm512_set1_epi8(1), c = _mm512_set1_epi8(-1);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_epi32(i);
    for (long n = 0; n < iterations; n++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbusd_epi32(a[i], b, c);
    __m512i s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_epi32(s, a[i]);
    int out[16];
    _mm512_storeu_si512(out, s);
    return out[0];
}

__attribute__((target("avx2,fma")))
static double fma_avx2(long iterations) {
    __m256 a[12];
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long n = 0; n < iterations; n++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

double upres_measure_peak_gflops(double seconds, int *vector_bits) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    int wide = __builtin_cpu_supports("avx512f");
    if (!wide && !__builtin_cpu_supports("fma")) { *vector_bits = 0; return 0; }
    *vector_bits = wide ? 512 : 256;
    const int lanes = wide ? 16 : 8;
    long iterations = 1 << 16;
    double best = 0, start = now_seconds(), sink = 0;
    while (now_seconds() - start < seconds) {
        double t0 = now_seconds();
        sink += wide ? fma_avx512(iterations) : fma_avx2(iterations);
        double dt = now_seconds() - t0;
        double gflops = 2.0 * lanes * 12.0 * (double)iterations / dt / 1e9;
        if (gflops > best) best = gflops;
        if (dt < 0.01) iterations *= 2;
    }
    if (sink == 12345.678) best += 0;  // keep the work observable
    return best;
#else
    *vector_bits = 0;
    return 0;
#endif
}

double upres_measure_peak_bf16_gflops(double seconds) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512bf16")) return 0;
    long iterations = 1 << 16;
    double best = 0, start = now_seconds(), sink = 0;
    while (now_seconds() - start < seconds) {
        double t0 = now_seconds();
        sink += dpbf16_avx512(iterations);
        double dt = now_seconds() - t0;
        double gflops = 2.0 * 32 * 12.0 * (double)iterations / dt / 1e9;
        if (gflops > best) best = gflops;
        if (dt < 0.01) iterations *= 2;
    }
    if (sink == 12345.678) best += 0;
    return best;
#else
    return 0;
#endif
}

double upres_measure_peak_int8_gops(double seconds) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512vnni")) return 0;
    long iterations = 1 << 16;
    double best = 0, start = now_seconds(), sink = 0;
    while (now_seconds() - start < seconds) {
        double t0 = now_seconds();
        sink += dpbusd_avx512(iterations);
        double dt = now_seconds() - t0;
        double gops = 2.0 * 64 * 12.0 * (double)iterations / dt / 1e9;
        if (gops > best) best = gops;
        if (dt < 0.01) iterations *= 2;
    }
    if (sink == 12345.678) best += 0;
    return best;
#else
    return 0;
#endif
}
