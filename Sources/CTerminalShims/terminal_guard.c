// Giving the terminal back when the dashboard cannot call endwin(): a crash, a fatal
// signal, exit() from another thread. Everything reachable from a signal handler here is
// async-signal-safe (tcsetattr, write, dup2, pread, sigaction, raise: signal-safety(7)),
// works on state prepared in advance, and runs at most once.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <fcntl.h>
#include "upres_terminal_shims.h"

static struct termios saved_modes;
static int guard_fd = -1;
static char restore_sequence[512];
static size_t restore_length;
static volatile sig_atomic_t armed;

static int saved_stderr = -1;
static int capture_fd = -1;
static volatile sig_atomic_t capturing;

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

int upres_terminal_guard_save(int tty_fd) {
    if (tcgetattr(tty_fd, &saved_modes) != 0) return -1;
    guard_fd = tty_fd;
    return 0;
}

void upres_terminal_guard_arm(const char *sequence) {
    if (guard_fd < 0) return;
    size_t n = sequence ? strlen(sequence) : 0;
    if (n >= sizeof restore_sequence) n = sizeof restore_sequence - 1;
    memcpy(restore_sequence, sequence, n);
    restore_length = n;
    armed = 1;
}

void upres_terminal_guard_disarm(void) { armed = 0; }

void upres_stderr_capture_end(void) {
    if (!__atomic_exchange_n(&capturing, 0, __ATOMIC_SEQ_CST)) return;
    dup2(saved_stderr, STDERR_FILENO);
    char buf[4096];
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(capture_fd, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        write_all(STDERR_FILENO, buf, (size_t)n);
        at += n;
    }
    close(capture_fd);
    close(saved_stderr);
    capture_fd = saved_stderr = -1;
}

void upres_terminal_guard_restore(void) {
    if (__atomic_exchange_n(&armed, 0, __ATOMIC_SEQ_CST)) {
        tcsetattr(guard_fd, TCSANOW, &saved_modes);
        write_all(guard_fd, restore_sequence, restore_length);
        // The UI thread may still be drawing: from now on its output goes nowhere.
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, guard_fd);
            close(null_fd);
        }
    }
    upres_stderr_capture_end();
}

int upres_stderr_capture_begin(void) {
    if (capturing) return capture_fd;
    const char *dir = getenv("TMPDIR");
    char path[512];
    size_t n = dir && *dir ? strlen(dir) : 4;
    if (n > 400) return -1;
    memcpy(path, dir && *dir ? dir : "/tmp", n);
    memcpy(path + n, "/upres-stderr-XXXXXX", 21);
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);   // nothing to clean up afterwards, whatever happens
    int saved = dup(STDERR_FILENO);
    if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (saved >= 0) close(saved);
        close(fd);
        return -1;
    }
    fcntl(saved, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    saved_stderr = saved;
    capture_fd = fd;
    capturing = 1;
    return fd;
}

// ---------------------------------------------------------------- fatal signals
static const int fatal_signals[] = { SIGSEGV, SIGABRT, SIGILL, SIGBUS, SIGFPE, SIGTRAP, SIGQUIT, SIGHUP };
#define FATAL_COUNT (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction previous[FATAL_COUNT];

static void on_fatal_signal(int sig, siginfo_t *info, void *context) {
    (void)context;
    upres_terminal_guard_restore();
    // Hand the signal to whoever had it before (Swift's backtracer prints its report on the
    // now normal screen, or the default action ends the process). A fault raised by an
    // instruction happens again when we return; any other signal (kill(), abort(), a hangup
    // from the kernel) has to be raised again.
    int synchronous = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
    for (size_t i = 0; i < FATAL_COUNT; i++) {
        if (fatal_signals[i] != sig) continue;
        sigaction(sig, &previous[i], NULL);
        if (previous[i].sa_handler == SIG_IGN) return;
        if (!synchronous || !info || info->si_code <= 0) raise(sig);
        return;
    }
}

static void restore_at_exit(void) { upres_terminal_guard_restore(); }

void upres_terminal_guard_install(void) {
    static int installed;
    if (installed) return;
    installed = 1;
    for (size_t i = 0; i < FATAL_COUNT; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal_signal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, &previous[i]);
        if (previous[i].sa_handler == SIG_IGN) sigaction(fatal_signals[i], &previous[i], NULL);   // nohup
    }
    atexit(restore_at_exit);
}
