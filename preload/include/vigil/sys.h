/*
 * System calls without libc wrappers, and the few string helpers the hot
 * path needs.
 *
 * Why: /bin/true touches a handful of libc pages. Each libc wrapper the
 * library calls first (open, getpid, getrandom, socket, strncmp,
 * inet_pton...) sits on another page, and its first call in a fresh
 * process is a page fault, about a microsecond each. Inline system calls
 * fault nothing, and leave errno alone. Results follow the kernel's
 * convention: >= 0 on success, -errno on failure.
 *
 * x86-64 and AArch64 use inline assembly; other architectures go through
 * libc's syscall(), which is correct, only not as cheap (also with
 * -DVG_SYSCALL_GENERIC, which the tests use to check that path).
 */
#ifndef VIGIL_SYS_H
#define VIGIL_SYS_H

#include <stddef.h>
#include <sys/syscall.h>

#if defined(__x86_64__) && !defined(VG_SYSCALL_GENERIC)
/** One system call with up to six arguments; returns the raw result. */
static inline long vg_syscall6(long nr, long a, long b, long c, long d,
                               long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                       "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__) && !defined(VG_SYSCALL_GENERIC)
/** One system call with up to six arguments; returns the raw result. */
static inline long vg_syscall6(long nr, long a, long b, long c, long d,
                               long e, long f)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;

    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#else
#include <errno.h>
#include <unistd.h>
/** One system call through libc (errno is restored by the callers). */
static inline long vg_syscall6(long nr, long a, long b, long c, long d,
                               long e, long f)
{
    long ret = syscall(nr, a, b, c, d, e, f);

    return ret == -1 ? -errno : ret;
}
#endif

#define VG_SYS(nr, a, b, c, d, e, f)                                         \
    vg_syscall6((long)(nr), (long)(a), (long)(b), (long)(c), (long)(d),      \
                (long)(e), (long)(f))

/** openat(AT_FDCWD, path, flags): a descriptor or -errno. */
static inline int vg_open(const char *path, int flags)
{
    return (int)VG_SYS(SYS_openat, -100 /* AT_FDCWD */, path, flags, 0, 0,
                       0);
}

/** read(2) retried on EINTR: bytes read or -errno. */
static inline long vg_read(int fd, void *buf, size_t n)
{
    long r;

    do {
        r = VG_SYS(SYS_read, fd, buf, n, 0, 0, 0);
    } while (r == -4 /* EINTR */);
    return r;
}

/** close(2); the result is of no use (the descriptor is gone anyway). */
static inline void vg_close(int fd)
{
    (void)VG_SYS(SYS_close, fd, 0, 0, 0, 0, 0);
}

/** readlinkat(AT_FDCWD, ...): the length (no NUL written) or -errno. */
static inline long vg_readlink(const char *path, char *buf, size_t n)
{
    return VG_SYS(SYS_readlinkat, -100, path, buf, n, 0, 0);
}

/** getpid(2): never fails. */
static inline int vg_getpid(void)
{
    return (int)VG_SYS(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

/** getppid(2): never fails. */
static inline int vg_getppid(void)
{
    return (int)VG_SYS(SYS_getppid, 0, 0, 0, 0, 0, 0);
}

/** getrandom(2): bytes written or -errno. */
static inline long vg_getrandom(void *buf, size_t n, unsigned flags)
{
    return VG_SYS(SYS_getrandom, buf, n, flags, 0, 0, 0);
}

/** socket(2): a descriptor or -errno. */
static inline int vg_socket(int domain, int type, int protocol)
{
    return (int)VG_SYS(SYS_socket, domain, type, protocol, 0, 0, 0);
}

/** sendto(2): bytes sent or -errno. */
static inline long vg_sendto(int fd, const void *p, size_t n, int flags,
                             const void *addr, unsigned addr_len)
{
    return VG_SYS(SYS_sendto, fd, p, n, flags, addr, addr_len);
}

/**
 * getcwd(2) into buf: the path, or NULL when it is unknown, too long, or
 * not reachable from the root (the kernel then returns "(unreachable)...",
 * which glibc's getcwd also refuses).
 */
static inline char *vg_getcwd(char *buf, size_t n)
{
    long r = VG_SYS(SYS_getcwd, buf, n, 0, 0, 0, 0);

    return r > 0 && buf[0] == '/' ? buf : NULL;
}

/** uname(2) into a struct utsname: 0 or -errno. */
static inline int vg_uname(void *uts)
{
    return (int)VG_SYS(SYS_uname, uts, 0, 0, 0, 0, 0);
}

/** getrusage(2) into a struct rusage: 0 or -errno. */
static inline int vg_getrusage(int who, void *ru)
{
    return (int)VG_SYS(SYS_getrusage, who, ru, 0, 0, 0, 0);
}

/** strncmp(3) without libc's (separately paged) implementation. */
static inline int vg_strncmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; n--, a++, b++) {
        if (*a != *b || *a == '\0') {
            return (unsigned char)*a - (unsigned char)*b;
        }
    }
    return 0;
}

/** strcmp(3), for the same reason. */
static inline int vg_strcmp(const char *a, const char *b)
{
    for (; *a == *b && *a != '\0'; a++, b++) {
    }
    return (unsigned char)*a - (unsigned char)*b;
}

#endif
