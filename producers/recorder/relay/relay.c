/*
 * vigil-rec-relay: the recorder's output hot path, as `script` does it.
 *
 * Started by the recorder (src/pty.ts) with
 *   fd 0  control socket from the recorder ("x<nonce>\n": the program has
 *         exited, its sentinel follows; end of file: the recorder is gone)
 *   fd 1  the user's terminal
 *   fd 3  the pty master (node-pty created the pty and forked the program)
 *   fd 4  record socket to the recorder
 *   fd 5  with --keys: the user's terminal, read side (keystrokes)
 * it reads the master, writes every byte to the terminal (blocking, as the
 * program itself would on a bare terminal) and copies it to the recorder in
 * large records, never blocking on the recorder: past RECORD_MAX_BYTES of
 * unsent records the copy is dropped and an 'L' record says how many bytes.
 *
 * With --keys it also reads the keystrokes (fd 5) and writes them to the
 * master, never blocking on it: a read waits until the previous one is in
 * (a stopped program, a full input queue), meanwhile the output goes on and
 * new keystrokes stay in the terminal's queue. With --record-input a copy of
 * each read goes to the recorder as an 'I' record, unless the program's
 * terminal has echo off in line mode at that moment (a password prompt:
 * tcgetattr on the master gives the slave's modes). End of file or an error
 * on fd 5 (the terminal hung up) sends 'H' and stops reading it.
 *
 * The shell integration's marks (OSC 133 C, D, M, X) are cut out of what the
 * terminal gets, with the rules of src/marks.ts (also when split across
 * reads; a mark start held longer than HOLD_MS is shown as it is), and sent
 * as 'M' records in stream order. After "x<nonce>" the sentinel
 * ESC ] 133 ; X ; <nonce> BEL is looked for before the scan, as src/pty.ts
 * does; when it comes out of the master, every byte the program wrote has
 * been relayed: the relay sends 'E' and exits.
 *
 * Records: type (1 byte), payload length (uint32 LE), CLOCK_MONOTONIC time of
 * the read (uint64 LE ns, the clock of Node's process.hrtime), payload.
 *   'D' bytes shown on the terminal   'M' a mark's body (after "133;")
 *   'L' uint64 LE bytes lost          'E' the end (no payload)
 *   'I' keystrokes (may be recorded)  'H' the keystrokes' side hung up
 *
 * --chunks (tests): fd 3 carries frames instead of a pty: uint32 LE length
 * and that many bytes, one read each; length 0 is the hold timer firing;
 * 0xffffffff is followed by uint32 length and a nonce (arms the sentinel).
 * --record-max BYTES bounds the unsent records (default RECORD_MAX_BYTES).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
    FD_CONTROL = 0,
    FD_TERMINAL = 1,
    FD_MASTER = 3,
    FD_RECORD = 4,
    FD_KEYS = 5
};

/* One read of the master (a pty gives at most 4 KiB; a pipe more). */
#define READ_BYTES (64 * 1024)
/* A mark longer than this is not ours (src/marks.ts MAX_MARK_BYTES). */
#define MAX_MARK_BYTES (64 * 1024)
/* A held mark start is shown after this long (src/session.ts). */
#define HOLD_MS 10
/* Records are sent once this many are waiting, or FLUSH_MS after the first. */
#define FLUSH_BYTES (64 * 1024)
#define FLUSH_MS 3
/* Unsent records kept while the recorder is behind; beyond, data is lost. */
#define RECORD_MAX_BYTES (16 * 1024 * 1024)
/* Room past the bound for marks, loss reports and the end record. */
#define RECORD_RESERVE (2 * MAX_MARK_BYTES + READ_BYTES)
#define HEADER_BYTES 13
/* While the output flows, keystrokes are looked for this often. */
#define KEYS_CHECK_NS 1000000u
#define NONCE_MAX 64
#define PREFIX "\033]133;"
#define PREFIX_LEN 6
#define BEL 0x07
#define ESC 0x1b

static size_t record_max = RECORD_MAX_BYTES;
static unsigned char *rec;
static size_t rec_head, rec_tail;
/* Offset of the last record's header when it is an unsent 'D', else -1. */
static long open_data = -1;
static int record_blocked, record_broken, terminal_broken;
static uint64_t lost;
/* Time of the current read; deadlines (ns, 0 = none). */
static uint64_t now_at, flush_due, hold_due;

/* The scanner: bytes held back at the front of work. */
static unsigned char work[2 * MAX_MARK_BYTES + 2 * READ_BYTES];
static size_t held;

/* After "x<nonce>": the sentinel and the raw bytes not yet searched. */
static int armed, control_open = 1, ended;
static unsigned char sentinel[PREFIX_LEN + 2 + NONCE_MAX + 1];
static size_t sentinel_len;
static unsigned char raw[2 * MAX_MARK_BYTES + 2 * READ_BYTES];
static size_t raw_len;
static char control[NONCE_MAX + 2];
static size_t control_len;

/* --keys: keystrokes read and not yet written to the master (one read). */
static int keys_open, record_input;
static unsigned char keys[4096];
static size_t keys_off, keys_len;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Sends what it can without blocking; the rest waits for POLLOUT. */
static void record_flush(void)
{
    while (rec_tail > rec_head && !record_broken) {
        ssize_t n = write(FD_RECORD, rec + rec_head, rec_tail - rec_head);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                record_blocked = 1;
                return;
            }
            record_broken = 1; /* the recorder is gone: only relay */
            break;
        }
        rec_head += (size_t)n;
        if (open_data >= 0 && rec_head > (size_t)open_data) {
            open_data = -1;
        }
    }
    record_blocked = 0;
    if (rec_tail <= rec_head || record_broken) {
        rec_head = rec_tail = 0;
        open_data = -1;
        flush_due = 0;
    }
}

/* Sends everything, waiting as long as it takes (the end). */
static void record_flush_all(void)
{
    while (rec_tail > rec_head && !record_broken) {
        record_flush();
        if (record_blocked) {
            struct pollfd p = {FD_RECORD, POLLOUT, 0};
            poll(&p, 1, -1);
        }
    }
}

/* Room for n more bytes within limit (unsent bytes), compacting if needed. */
static int record_room(size_t n, size_t limit)
{
    if (record_broken) {
        return 0;
    }
    if (rec_tail - rec_head + n > limit) {
        return 0;
    }
    if (rec_tail + n > record_max + RECORD_RESERVE) {
        memmove(rec, rec + rec_head, rec_tail - rec_head);
        rec_tail -= rec_head;
        if (open_data >= 0) {
            open_data -= (long)rec_head;
        }
        rec_head = 0;
    }
    return 1;
}

static void record_put(char type, const void *data, size_t n)
{
    unsigned char *h = rec + rec_tail;
    h[0] = (unsigned char)type;
    put_u32(h + 1, (uint32_t)n);
    put_u64(h + 5, now_at);
    memcpy(h + HEADER_BYTES, data, n);
    if (rec_tail == rec_head && flush_due == 0) {
        flush_due = monotonic_ns() + FLUSH_MS * 1000000u;
    }
    open_data = type == 'D' ? (long)rec_tail : -1;
    rec_tail += HEADER_BYTES + n;
}

/* Reports the loss once the recorder has caught up (at the end: at once). */
static void record_lost(int now)
{
    unsigned char count[8];
    size_t limit = now ? record_max + RECORD_RESERVE : record_max / 2;
    if (lost == 0 || !record_room(HEADER_BYTES + 8, limit)) {
        return;
    }
    put_u64(count, lost);
    record_put('L', count, 8);
    lost = 0;
}

static void record_data(const unsigned char *p, size_t n)
{
    if (record_broken) {
        return;
    }
    record_lost(0);
    if (lost > 0) {
        lost += n;
        return;
    }
    if (open_data >= 0 && (size_t)open_data >= rec_head &&
        record_room(n, record_max)) {
        unsigned char *h = rec + open_data;
        put_u32(h + 1, get_u32(h + 1) + (uint32_t)n);
        memcpy(rec + rec_tail, p, n);
        rec_tail += n;
        return;
    }
    if (!record_room(HEADER_BYTES + n, record_max)) {
        lost += n;
        return;
    }
    record_put('D', p, n);
}

static void record_mark(const unsigned char *body, size_t n)
{
    if (!record_room(HEADER_BYTES + n, record_max + RECORD_RESERVE / 2)) {
        lost += n + PREFIX_LEN + 1;
        return;
    }
    record_put('M', body, n);
}

/* Writes all of it, waiting for the terminal as the program would. */
static void terminal_write(const unsigned char *p, size_t n)
{
    while (n > 0 && !terminal_broken) {
        ssize_t w = write(FD_TERMINAL, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd q = {FD_TERMINAL, POLLOUT, 0};
                poll(&q, 1, -1);
                continue;
            }
            terminal_broken = 1; /* hung up: keep recording */
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void emit_data(const unsigned char *p, size_t n)
{
    if (n == 0) {
        return;
    }
    terminal_write(p, n);
    record_data(p, n);
}

/* A status field of src/marks.ts: empty (0), or '-'? and 1-9 digits. */
static int status_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (n == 0) {
        return 1;
    }
    if (s[0] == '-') {
        i = 1;
    }
    if (n - i < 1 || n - i > 9) {
        return 0;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* parseMark of src/marks.ts: is the body of this OSC 133 one of ours? */
static int is_mark(const unsigned char *body, size_t n)
{
    const unsigned char *semi = memchr(body, ';', n);
    size_t kind_len = semi ? (size_t)(semi - body) : n;
    const unsigned char *rest = semi ? semi + 1 : body + n;
    size_t rest_len = (size_t)(body + n - rest);
    const unsigned char *split;

    if (kind_len != 1) {
        return 0;
    }
    switch (body[0]) {
    case 'C':
        return memchr(rest, ';', rest_len) != NULL;
    case 'D':
        return status_ok(rest, rest_len);
    case 'M':
        return 1;
    case 'X':
        split = memchr(rest, ';', rest_len);
        if (split == NULL || split == rest) {
            return 0;
        }
        rest_len -= (size_t)(split + 1 - rest);
        rest = split + 1;
        split = memchr(rest, ';', rest_len);
        return status_ok(rest, split ? (size_t)(split - rest) : rest_len);
    default:
        return 0;
    }
}

/* Length of the longest suffix that is a proper prefix of PREFIX. */
static size_t partial_prefix_at_end(const unsigned char *p, size_t n)
{
    size_t from = n > PREFIX_LEN - 1 ? n - (PREFIX_LEN - 1) : 0;
    for (size_t start = from; start < n; start++) {
        if (p[start] == ESC && memcmp(p + start, PREFIX, n - start) == 0) {
            return n - start;
        }
    }
    return 0;
}

static void hold(const unsigned char *p, size_t n)
{
    memmove(work, p, n);
    held = n;
}

/* The scan of src/marks.ts over held bytes and a new read, joined. */
static void scan(const unsigned char *buf, size_t len)
{
    size_t from = 0;
    for (;;) {
        const unsigned char *hit =
            memmem(buf + from, len - from, PREFIX, PREFIX_LEN);
        if (hit == NULL) {
            size_t partial = partial_prefix_at_end(buf + from, len - from);
            size_t end = len - partial;
            if (end > from) {
                emit_data(buf + from, end - from);
            }
            if (partial > 0) {
                hold(buf + end, partial);
            }
            return;
        }
        size_t start = (size_t)(hit - buf);
        size_t body = start + PREFIX_LEN;
        size_t term = 0, term_len = 1;
        int found = 0;
        for (size_t i = body; i < len; i++) {
            if (buf[i] == BEL) {
                term = i;
                found = 1;
                break;
            }
            if (buf[i] == ESC) {
                if (i + 1 >= len) {
                    break; /* maybe ST split across reads */
                }
                if (buf[i + 1] == '\\') {
                    term = i;
                    term_len = 2;
                    found = 1;
                    break;
                }
            }
        }
        if (!found) {
            if (len - start > MAX_MARK_BYTES) {
                /* Not a mark of ours: show it, go on after the prefix. */
                emit_data(buf + from, body - from);
                from = body;
                continue;
            }
            if (start > from) {
                emit_data(buf + from, start - from);
            }
            hold(buf + start, len - start);
            return;
        }
        if (is_mark(buf + body, term - body)) {
            if (start > from) {
                emit_data(buf + from, start - from);
            }
            record_mark(buf + body, term - body);
        } else {
            emit_data(buf + from, term + term_len - from);
        }
        from = term + term_len;
        if (from >= len) {
            return;
        }
    }
}

static void scan_push(const unsigned char *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (held == 0) {
        scan(p, n);
    } else {
        size_t joined = held + n;
        memcpy(work + held, p, n);
        held = 0;
        scan(work, joined);
    }
    if (held == 0) {
        hold_due = 0;
    } else if (hold_due == 0) {
        hold_due = monotonic_ns() + HOLD_MS * 1000000u;
    }
}

static void flush_held(void)
{
    size_t n = held;
    held = 0;
    hold_due = 0;
    emit_data(work, n);
}

static void arm(const char *nonce, size_t n)
{
    if (armed || n == 0 || n > NONCE_MAX) {
        return;
    }
    memcpy(sentinel, PREFIX "X;", PREFIX_LEN + 2);
    memcpy(sentinel + PREFIX_LEN + 2, nonce, n);
    sentinel[PREFIX_LEN + 2 + n] = BEL;
    sentinel_len = PREFIX_LEN + 3 + n;
    armed = 1;
    /* Held bytes are bytes not yet decided on: searched with what follows. */
    memcpy(raw, work, held);
    raw_len = held;
    held = 0;
    hold_due = 0;
}

/* Reads what the recorder sent; returns 0 at end of file. */
static int read_control(void)
{
    char buf[128];
    ssize_t n = read(FD_CONTROL, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        control_open = 0;
        return 0;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            if (control_len > 1 && control[0] == 'x') {
                arm(control + 1, control_len - 1);
            }
            control_len = 0;
        } else if (control_len < sizeof control) {
            control[control_len++] = buf[i];
        }
    }
    return 1;
}

/* May what is typed now be recorded? Not while echo is off in line mode
 * (getpass, sudo, `read -s`); raw mode without echo (readline, vim) echoes
 * itself. Unknown modes count as secret (src/termios.ts). */
static int input_may_be_recorded(void)
{
    struct termios t;
    if (tcgetattr(FD_MASTER, &t) != 0) {
        return 0;
    }
    return (t.c_lflag & ECHO) || !(t.c_lflag & ICANON);
}

/* Writes what it can of the pending keystrokes; the rest waits for POLLOUT. */
static void keys_write(void)
{
    while (keys_off < keys_len) {
        ssize_t w = write(FD_MASTER, keys + keys_off, keys_len - keys_off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                keys_off = keys_len; /* the pty is gone: nobody to type to */
            }
            break;
        }
        keys_off += (size_t)w;
    }
    if (keys_off >= keys_len) {
        keys_off = keys_len = 0;
    }
}

/* One read of the keystrokes, once the previous one is written. */
static void keys_read(void)
{
    ssize_t n = read(FD_KEYS, keys, sizeof keys);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    now_at = monotonic_ns();
    if (n <= 0) {
        keys_open = 0;
        if (record_room(HEADER_BYTES, record_max + RECORD_RESERVE)) {
            record_put('H', "", 0);
        }
        return;
    }
    /* The modes before the bytes go in: the program may change them once
     * it has read them (a password prompt ending). */
    if (record_input && input_may_be_recorded() &&
        record_room(HEADER_BYTES + (size_t)n,
                    record_max + RECORD_RESERVE / 2)) {
        record_put('I', keys, (size_t)n);
    }
    keys_off = 0;
    keys_len = (size_t)n;
    keys_write();
}

/* Keystrokes waiting in the terminal, looked at between reads of the master
 * at most every KEYS_CHECK_NS (a long output must not hold up Ctrl-C). */
static void keys_poll(void)
{
    static uint64_t checked_at;
    if (now_at - checked_at < KEYS_CHECK_NS) {
        return;
    }
    checked_at = now_at;
    if (keys_len > 0) {
        keys_write();
    }
    if (!keys_open || keys_len > 0) {
        return;
    }
    struct pollfd k = {FD_KEYS, POLLIN, 0};
    if (poll(&k, 1, 0) > 0) {
        keys_read();
    }
}

static void finish(void)
{
    flush_held();
    record_lost(1);
    if (record_room(HEADER_BYTES, record_max + RECORD_RESERVE)) {
        record_put('E', "", 0);
    }
    ended = 1;
}

/* One read of the master: the sentinel once armed (src/pty.ts), marks. */
static void process_read(const unsigned char *p, size_t n)
{
    if (!armed) {
        scan_push(p, n);
        return;
    }
    memcpy(raw + raw_len, p, n);
    raw_len += n;
    unsigned char *at = memmem(raw, raw_len, sentinel, sentinel_len);
    if (at != NULL) {
        size_t before = (size_t)(at - raw);
        scan_push(raw, before);
        scan_push(at + sentinel_len, raw_len - before - sentinel_len);
        raw_len = 0;
        finish();
        return;
    }
    size_t keep = raw_len < sentinel_len - 1 ? raw_len : sentinel_len - 1;
    scan_push(raw, raw_len - keep);
    memmove(raw, raw + raw_len - keep, keep);
    raw_len = keep;
}

static int read_full(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return 0;
        }
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

static unsigned char chunk[READ_BYTES];

/* --chunks: the same processing, one frame per read. */
static int run_chunks(void)
{
    unsigned char len[4];
    while (!ended && read_full(FD_MASTER, len, 4)) {
        uint32_t n = get_u32(len);
        now_at = monotonic_ns();
        if (n == 0) {
            flush_held();
        } else if (n == 0xffffffffu) {
            char nonce[NONCE_MAX];
            if (!read_full(FD_MASTER, len, 4) || get_u32(len) > NONCE_MAX ||
                !read_full(FD_MASTER, nonce, get_u32(len))) {
                return 2;
            }
            arm(nonce, get_u32(len));
        } else {
            if (n > READ_BYTES || !read_full(FD_MASTER, chunk, n)) {
                return 2;
            }
            process_read(chunk, n);
        }
        if (rec_tail - rec_head >= FLUSH_BYTES) {
            record_flush();
        }
    }
    if (!ended) {
        scan_push(raw, raw_len);
        finish();
    }
    record_flush_all();
    return 0;
}

static int run_pty(void)
{
    for (;;) {
        ssize_t n = read(FD_MASTER, chunk, sizeof chunk);
        if (n > 0) {
            now_at = monotonic_ns();
            /* The control message is sent before the sentinel is written:
             * read it before a read that may hold the sentinel is scanned. */
            if (!armed && control_open &&
                (held > 0 || memchr(chunk, ESC, (size_t)n) != NULL)) {
                read_control();
            }
            process_read(chunk, (size_t)n);
            if (ended) {
                record_flush_all();
                return 0;
            }
            keys_poll();
            /* Also while blocked: an EAGAIN costs less than a drop. */
            if (rec_tail - rec_head >= FLUSH_BYTES ||
                (flush_due && now_at >= flush_due)) {
                record_flush();
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0 || errno != EAGAIN) {
            break; /* every slave closed: the recorder has finished */
        }
        /* Nothing to read now: wait for more, a deadline, the recorder. */
        uint64_t now = monotonic_ns();
        if (hold_due && now >= hold_due) {
            now_at = now;
            flush_held();
        }
        if (flush_due && now >= flush_due && !record_blocked) {
            record_flush();
        }
        uint64_t due = hold_due;
        if (flush_due && !record_blocked && (due == 0 || flush_due < due)) {
            due = flush_due;
        }
        int timeout = -1;
        if (due) {
            timeout = due > now ? (int)((due - now + 999999) / 1000000) : 0;
        }
        struct pollfd p[4] = {
            {FD_MASTER, (short)(POLLIN | (keys_len > 0 ? POLLOUT : 0)), 0},
            {control_open ? FD_CONTROL : -1, POLLIN, 0},
            {record_blocked ? FD_RECORD : -1, POLLOUT, 0},
            {keys_open && keys_len == 0 ? FD_KEYS : -1, POLLIN, 0},
        };
        if (poll(p, 4, timeout) < 0 && errno != EINTR) {
            break;
        }
        if (p[1].revents && !read_control()) {
            return 0; /* the recorder is gone */
        }
        if (p[0].revents & POLLOUT) {
            keys_write();
        }
        if (p[3].revents) {
            keys_read();
        }
        if (p[2].revents) {
            record_flush();
        }
    }
    scan_push(raw, raw_len);
    flush_held();
    record_flush_all();
    return 0;
}

static void nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

/* The keystrokes' terminal opened again, as libuv does: a description of
 * our own can be non-blocking without changing the user's shell's, so a
 * read never blocks if someone else took the bytes poll saw. If it cannot be
 * opened, fd 5 stays as it is (read only after poll says so). */
static void keys_private(void)
{
    int fd = open("/proc/self/fd/5", O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return;
    }
    if (dup2(fd, FD_KEYS) < 0) {
        close(fd);
        return;
    }
    close(fd);
}

int main(int argc, char **argv)
{
    int chunks = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--chunks") == 0) {
            chunks = 1;
        } else if (strcmp(argv[i], "--keys") == 0) {
            keys_open = 1;
        } else if (strcmp(argv[i], "--record-input") == 0) {
            record_input = 1;
        } else if (strcmp(argv[i], "--record-max") == 0 && i + 1 < argc) {
            record_max = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "vigil-rec-relay: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    rec = malloc(record_max + RECORD_RESERVE);
    if (rec == NULL) {
        return 2;
    }
    /* The recorder decides when the session ends, not a signal to us. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    nonblocking(FD_RECORD);
    if (chunks) {
        return run_chunks();
    }
    /* Output processing off: the bytes from the inner pty are processed
     * already (ONLCR done); the recorder restores the modes at the end. */
    struct termios t;
    if (tcgetattr(FD_TERMINAL, &t) == 0 && (t.c_oflag & OPOST)) {
        t.c_oflag &= ~(tcflag_t)OPOST;
        tcsetattr(FD_TERMINAL, TCSANOW, &t);
    }
    nonblocking(FD_CONTROL);
    nonblocking(FD_MASTER);
    if (keys_open) {
        keys_private();
    }
    return run_pty();
}
