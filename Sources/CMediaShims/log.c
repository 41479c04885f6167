#include <stdarg.h>
#include "upres_media_shims.h"

// Most shims are static inline in include/upres_media_shims.h. The log trampoline is
// here because it keeps state (the installed sink) that must exist exactly once.

static upres_log_sink log_sink;

static void log_trampoline(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > av_log_get_level()) return;
    char line[1024];
    static int print_prefix = 1;
    av_log_format_line(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    if (log_sink) log_sink(level, line);
}

void upres_set_log_sink(upres_log_sink fn) {
    log_sink = fn;
    av_log_set_callback(fn ? log_trampoline : av_log_default_callback);
}
