/*
 * Step timing for `make profile` (tests/profile.py): with -DVG_PROFILE,
 * VG_MARK(name) records the time stamp counter at a named point of the
 * constructor or the exit handler, and VG_MARKS_DUMP(tag) writes one line
 * "vgprof <tag> <ns per 1000 ticks> <name>=<ticks> ..." to stderr. Without
 * VG_PROFILE (every real build) both expand to nothing.
 */
#ifndef VIGIL_PROFILE_H
#define VIGIL_PROFILE_H

#if defined(VG_PROFILE) && defined(__x86_64__)
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VG_MARKS_MAX 24

struct vg_marks {
    int n;
    const char *name[VG_MARKS_MAX];
    uint64_t tsc[VG_MARKS_MAX];
    uint64_t ns0;
};

/* Defined once, in src/preload.c, so that every file can mark. */
extern struct vg_marks vg_marks;

/** The monotonic clock in ns (profile builds only). */
static inline uint64_t vg_marks_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define VG_MARK(label)                                                       \
    do {                                                                     \
        if (vg_marks.n == 0) {                                               \
            vg_marks.ns0 = vg_marks_ns();                                    \
        }                                                                    \
        if (vg_marks.n < VG_MARKS_MAX) {                                     \
            vg_marks.name[vg_marks.n] = (label);                             \
            vg_marks.tsc[vg_marks.n++] = __builtin_ia32_rdtsc();             \
        }                                                                    \
    } while (0)

/** Appends the decimal form of v to line at *len. */
static inline void vg_marks_num(char *line, size_t *len, uint64_t v)
{
    char num[24];
    int i = (int)sizeof(num);

    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(line + *len, num + i, sizeof(num) - (size_t)i);
    *len += sizeof(num) - (size_t)i;
}

/** Writes the marks taken since the last dump, then forgets them. */
static inline void vg_marks_dump(const char *tag)
{
    char line[1024];
    size_t len = 0;
    uint64_t ns = vg_marks_ns() - vg_marks.ns0;
    uint64_t ticks = __builtin_ia32_rdtsc() - vg_marks.tsc[0];
    int i;

    memcpy(line, "vgprof ", 7);
    len = 7;
    memcpy(line + len, tag, strlen(tag));
    len += strlen(tag);
    line[len++] = ' ';
    /* The clock rate, measured over this very stretch. */
    vg_marks_num(line, &len, ticks > 0 ? ns * 1000 / ticks : 0);
    for (i = 1; i < vg_marks.n; i++) {
        line[len++] = ' ';
        memcpy(line + len, vg_marks.name[i], strlen(vg_marks.name[i]));
        len += strlen(vg_marks.name[i]);
        line[len++] = '=';
        vg_marks_num(line, &len, vg_marks.tsc[i] - vg_marks.tsc[i - 1]);
    }
    line[len++] = '\n';
    if (write(2, line, len) < 0) {
        vg_marks.n = 0;
    }
    vg_marks.n = 0;
}

#define VG_MARKS_DUMP(tag) vg_marks_dump(tag)
#else
#define VG_MARK(label) ((void)0)
#define VG_MARKS_DUMP(tag) ((void)0)
#endif

#endif
