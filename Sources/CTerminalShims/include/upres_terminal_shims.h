// C shims for the dashboard: a terminal guard that is async-signal-safe (terminal_guard.c)
// and ncurses globals and attribute macros Swift cannot import.
#ifndef UPRES_TERMINAL_SHIMS_H
#define UPRES_TERMINAL_SHIMS_H

#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <locale.h>

// ---------------------------------------------------------------- terminal guard (terminal_guard.c)
// A full-screen dashboard must give the terminal back however the process ends: these are
// async-signal-safe (termios, write, dup2) so signal handlers and atexit can call them.
/// Remembers the terminal modes of `tty_fd`, before curses changes them (newterm already
/// does). 0 or -1.
int upres_terminal_guard_save(int tty_fd);
/// From now on, restore those modes and send `restore_sequence` (leave the alternate
/// screen, show the cursor, reset attributes) unless disarmed first.
void upres_terminal_guard_arm(const char *restore_sequence);
/// After a clean endwin(): nothing left to restore.
void upres_terminal_guard_disarm(void);
/// Puts modes and screen back (once), sends later writes to the terminal descriptor to
/// /dev/null (curses on another thread may still draw), ends any stderr capture.
/// Async-signal-safe.
void upres_terminal_guard_restore(void);
/// Restores the terminal before fatal signals (SIGSEGV, SIGABRT, SIGILL, SIGBUS, SIGFPE,
/// SIGTRAP, SIGQUIT, SIGHUP; then the previous handler runs, e.g. Swift's backtracer) and at exit.
void upres_terminal_guard_install(void);
/// Sends fd 2 to a temporary file while the dashboard owns the screen, so no stray message
/// (FFmpeg's, a warning, a crash report) scribbles over it. Returns the file's descriptor
/// (for reading what was written) or -1.
int upres_stderr_capture_begin(void);
/// Gives fd 2 back and writes what was captured to it. Async-signal-safe.
void upres_stderr_capture_end(void);

// ---------------------------------------------------------------- ncurses (the dashboard)
// stdscr and COLORS are globals (errors under Swift 6 strict concurrency); A_* attributes
// are NCURSES_BITS macros. Nothing above this point sees curses' function-like macros.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncursesw/curses.h>
static inline WINDOW *upres_stdscr(void) { return stdscr; }
static inline int upres_colors(void) { return COLORS; }
static inline int upres_a_normal(void) { return (int)A_NORMAL; }
static inline int upres_a_bold(void) { return (int)A_BOLD; }
static inline int upres_a_dim(void) { return (int)A_DIM; }
static inline int upres_a_reverse(void) { return (int)A_REVERSE; }
static inline int upres_a_underline(void) { return (int)A_UNDERLINE; }


#endif
