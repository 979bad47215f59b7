#!/usr/bin/env python3
"""End-to-end and safety tests of libvigil-preload.so (python3 stdlib only).

Each case runs a real program with LD_PRELOAD, receives the datagrams on a
local socket, decodes them with the small protobuf reader below (written
from schemas/proto, independent of the C encoder) and checks the values and
the HMAC of schemas/FORMAT.md. Datagrams to loopback are queued before
sendto returns, so once the program has exited everything it sent is
waiting: no sleeps.
"""
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
# VIGIL_TEST_LIB: another build of the library (make e2e-generic).
LIB = os.path.abspath(os.environ.get(
    "VIGIL_TEST_LIB", os.path.join(BUILD, "libvigil-preload.so")))
PROG = os.path.join(BUILD, "prog")
KEY = bytes(range(32))
KEY_ID = "e2e-key"

failed = 0
passed = 0


def check(cond, what):
    global failed, passed
    frame = sys._getframe(1)
    where = "%s:%d" % (os.path.relpath(frame.f_code.co_filename),
                       frame.f_lineno)
    if cond:
        passed += 1
        print("PASS %s %s" % (where, what))
    else:
        failed += 1
        print("FAIL %s %s" % (where, what))
    return cond


# --- a protobuf reader -----------------------------------------------------

def varint(buf, at):
    value = shift = 0
    while True:
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def fields(buf):
    """[(field, value, raw bytes of the whole field)] in wire order."""
    out, at = [], 0
    while at < len(buf):
        start = at
        tag, at = varint(buf, at)
        wt = tag & 7
        if wt == 0:
            value, at = varint(buf, at)
        elif wt == 1:
            value = struct.unpack_from("<Q", buf, at)[0]
            at += 8
        elif wt == 2:
            n, at = varint(buf, at)
            value = bytes(buf[at:at + n])
            at += n
        elif wt == 5:
            value = struct.unpack_from("<I", buf, at)[0]
            at += 4
        else:
            raise ValueError("wire type %d" % wt)
        if at > len(buf):
            raise ValueError("field past the end")
        out.append((tag >> 3, value, bytes(buf[start:at])))
    return out


class Msg:
    """Field access by number: one(n), many(n); absent scalars are 0."""

    def __init__(self, buf):
        self.f = fields(buf)

    def many(self, n):
        return [v for (k, v, _) in self.f if k == n]

    def one(self, n, default=None):
        vs = self.many(n)
        return vs[-1] if vs else default

    def num(self, n):
        return self.one(n, 0)

    def msg(self, n):
        v = self.one(n)
        return Msg(v) if v is not None else None


def int32(v):
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >> 63 else v


class Event:
    def __init__(self, dgram):
        assert dgram[:4] == b"VG\x01\x01", dgram[:4]
        self.raw = dgram
        self.record = dgram[4:]
        self.top = Msg(self.record)
        self.env = self.top.msg(1)
        self.start = self.top.msg(2)
        self.end = self.top.msg(3)
        self.event_id = self.env.one(1)
        self.host = self.env.one(3, b"").decode()
        self.producer = self.env.one(4, b"").decode()
        self.sequence = self.env.num(5)
        self.time = self.env.num(6)
        sig = self.env.msg(7)
        self.key_id = sig.one(1, b"").decode() if sig else None
        self.mac = sig.one(2) if sig else None

    def mac_input(self):
        body = b"".join(raw for (k, _, raw) in self.top.f if k != 1)
        host = self.host.encode()
        prod = self.producer.encode()
        return (b"vigil-sig-v1\0" + self.event_id +
                bytes([self.env.num(2)]) +
                struct.pack(">QQ", self.sequence, self.time) +
                struct.pack(">H", len(host)) + host +
                struct.pack(">H", len(prod)) + prod + body)

    def mac_ok(self, key=KEY):
        want = hmac.new(key, self.mac_input(), hashlib.sha256).digest()
        return self.mac is not None and hmac.compare_digest(want, self.mac)


def objects(m, n):
    out = []
    for raw in m.many(n):
        o = Msg(raw)
        wm = o.msg(3)
        out.append({
            "path": o.one(1, b""),
            "build_id": o.one(2, b""),
            "watermark": wm.one(1) if wm else None,
            "dlopened": bool(o.num(4)),
        })
    return out


# --- running programs ------------------------------------------------------

class Receiver:
    def __init__(self, family=socket.AF_INET, addr=("127.0.0.1", 0)):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(addr)
        if family == socket.AF_UNIX:
            self.collector = "unix:" + addr
        elif family == socket.AF_INET6:
            self.collector = "udp://[::1]:%d" % self.sock.getsockname()[1]
        else:
            self.collector = "udp://127.0.0.1:%d" % self.sock.getsockname()[1]

    def drain(self):
        out = []
        self.sock.setblocking(False)
        while True:
            try:
                out.append(Event(self.sock.recv(70000)))
            except BlockingIOError:
                return out


def base_env(collector, key_file, **extra):
    env = {
        "PATH": "/usr/bin:/bin",
        "LD_PRELOAD": LIB,
        "VIGIL_ACTIVE": "1",
        "VIGIL_COLLECTOR": collector,
        "VIGIL_KEY_ID": KEY_ID,
        "VIGIL_KEY_FILE": key_file,
        # A config file that does not exist: only the environment counts.
        "VIGIL_CONFIG": "/nonexistent/vigil.conf",
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run(argv, env, **kw):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, **kw)
    p.stdout, p.stderr = p.communicate(timeout=60)
    p.seconds = time.monotonic() - t0
    return p


def starts(events):
    return [e for e in events if e.start is not None]


def ends(events):
    return [e for e in events if e.end is not None]


def build_id_of(path):
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return bytes.fromhex(line.split("Build ID:")[1].strip())
    return b""


def watermark_of(json_path):
    import json
    with open(json_path) as f:
        return uuid.UUID(json.load(f)["watermarkId"]).bytes


# --- the cases -------------------------------------------------------------

def case_true(key_file):
    r = Receiver()
    env = base_env(r.collector, key_file, SLURM_JOB_ID="4242",
                   SLURM_STEP_ID="3", SLURM_ARRAY_TASK_ID="7",
                   PBS_JOBID="ignored", LOADEDMODULES="gcc/12.2:openmpi/4.1",
                   _LMFILES_="/m/gcc/12.2:/m/openmpi/4.1",
                   VIGIL_ENV="MY_*,PATH", MY_VAR="v\xe9",
                   MY_API_TOKEN="hunter2", OTHER="x")
    p = subprocess.Popen(["/bin/true", "a b", "", "c"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    ev = r.drain()
    check(p.returncode == 0 and out == b"" and err == b"",
          "/bin/true: exit 0, stdout and stderr silent")
    if not check(len(ev) == 2, "/bin/true: one start and one end"):
        return
    s, e = ev[0], ev[1]
    st, en = s.start, e.end
    check(st is not None and en is not None, "start first, then end")
    check(s.mac_ok() and e.mac_ok() and s.key_id == KEY_ID,
          "both HMACs verify under the key")
    check(s.env.num(2) == 1 and e.env.num(2) == 1, "source kind PRELOAD")
    check(s.sequence == 1 and e.sequence == 2, "sequence 1 then 2")
    boot = open("/proc/sys/kernel/random/boot_id").read().strip()
    check(s.producer == "preload/%s/%d" % (boot, p.pid) and
          e.producer == s.producer, "producer id preload/<boot>/<pid>")
    check(s.host == os.uname().nodename, "host from uname")
    check(uuid.UUID(bytes=s.event_id).version == 7 and
          s.event_id != e.event_id, "event ids are distinct UUIDv7")
    now = time.time_ns()
    check(abs(now - s.time) < 60 * 10**9 and e.time >= s.time,
          "times in ns since the epoch")
    check(st.num(1) == p.pid and st.num(2) == os.getpid(), "pid and ppid")
    check(st.num(3) == os.getuid() and st.num(4) == os.getgid() and
          st.num(5) == os.geteuid() and st.num(6) == os.getegid(),
          "uid gid euid egid")
    check(st.one(7) == os.path.realpath("/bin/true").encode(),
          "executable from /proc/self/exe")
    check(st.many(8) == [b"/bin/true", b"a b", b"", b"c"],
          "argv with boundaries and an empty argument")
    check(st.one(9) == os.getcwd().encode(), "working directory")
    job = st.msg(10)
    check(job is not None and job.one(1) == b"slurm" and
          job.one(2) == b"4242" and job.one(3) == b"3" and
          job.one(4) == b"7", "slurm job, step, array index")
    check(st.many(11) == [b"gcc/12.2", b"openmpi/4.1"] and
          st.many(12) == [b"/m/gcc/12.2", b"/m/openmpi/4.1"],
          "environment modules")
    envs = {Msg(v).one(1): Msg(v) for v in st.many(13)}
    check(set(envs) == {b"MY_VAR", b"MY_API_TOKEN", b"PATH"},
          "environment selected by pattern")
    check(envs[b"MY_VAR"].one(2) == "v\xe9".encode() and
          not envs[b"MY_VAR"].num(3), "selected value kept")
    check(envs[b"MY_API_TOKEN"].one(2) is None and
          envs[b"MY_API_TOKEN"].num(3) == 1, "secret-looking value redacted")
    cg = open("/proc/%d/cgroup" % os.getpid()).read()
    check(st.one(14) is not None and st.one(14) in cg.encode(),
          "cgroup path")
    check(st.one(15) == build_id_of(os.path.realpath("/bin/true")),
          "build-id of the executable")
    check(st.one(18) == uuid.UUID(boot).bytes, "boot id bytes")
    objs = objects(st, 16)
    paths = [o["path"] for o in objs]
    check(paths[0] == os.path.realpath("/bin/true").encode() and
          any(x.endswith(b"/libc.so.6") for x in paths) and
          LIB.encode() in paths, "shared objects: exe, libc, preload")
    libc = [o for o in objs if o["path"].endswith(b"/libc.so.6")][0]
    check(libc["build_id"] == build_id_of(libc["path"].decode()),
          "libc build-id read from memory matches the file")
    check(st.msg(17) is None, "nothing truncated")
    check(en.num(1) == p.pid and en.one(2) == s.event_id,
          "end names the pid and the start event")
    check(int32(en.num(3)) == 0 and en.num(4) > 0 and en.num(7) > 0,
          "exit status, duration, max RSS")
    check(en.many(8) == [], "no dlopen")


def case_exit_status(key_file):
    r = Receiver()
    env = base_env(r.collector, key_file)
    for argv, status in (([PROG, "exit", "7"], 7),
                         ([PROG, "exit", "-1"], -1),
                         ([PROG, "threads"], 9)):
        p = run(argv, env)
        ev = r.drain()
        en = ends(ev)
        check(p.returncode == status & 0xFF and p.stderr == b"" and
              len(starts(ev)) == 1 and len(en) == 1 and
              int32(en[0].end.num(3)) == status and en[0].mac_ok(),
              "exit status %d reported (%s)" % (status, argv[1]))
    p = run([PROG, "_exit"], env)
    ev = r.drain()
    check(p.returncode == 4 and len(starts(ev)) == 1 and not ends(ev),
          "_exit: a start and no end (documented)")


def case_unsigned():
    r = Receiver()
    env = base_env(r.collector, None, VIGIL_KEY_ID=None)
    p = run(["/bin/true"], env)
    ev = r.drain()
    check(p.returncode == 0 and len(ev) == 2 and
          all(e.mac is None for e in ev), "no key: no signature")


def case_process_tree(key_file):
    r = Receiver()
    env = base_env(r.collector, key_file)
    p = run([PROG, "fork"], env)
    ev = r.drain()
    check(p.returncode == 0 and len(starts(ev)) == 1 and
          len(ends(ev)) == 1 and ends(ev)[0].end.num(1) == p.pid,
          "fork: the child's exit is not reported")
    for mode in ("vfork", "spawn"):
        p = run([PROG, mode], env)
        ev = r.drain()
        progs = sorted(e.start.one(7) for e in starts(ev))
        check(p.returncode == 0 and p.stderr == b"" and
              len(starts(ev)) == 2 and len(ends(ev)) == 2 and
              os.path.realpath("/bin/true").encode() in progs and
              all(e.mac_ok() for e in ev),
              "%s: parent and child both reported" % mode)
    p = run([PROG, "exec", "3"], env)
    ev = r.drain()
    pids = {e.start.num(1) for e in starts(ev)}
    check(p.returncode == 0 and len(starts(ev)) == 4 and
          len(ends(ev)) == 1 and pids == {p.pid},
          "exec chain: one start per image, one end")
    check(p.stdout.split() == [b"fds", b"0", b"1", b"2"],
          "no descriptor leaked across exec: %r" % p.stdout)


def case_sampling(key_file):
    """The pid rule (sample, sample_every) and the run-time rule (short,
    short_ms, short_every): which runs are reported, in which order, with
    which sample_weight (ProcessEnd field 10)."""
    r = Receiver()
    prefix = os.path.dirname(PROG) + "/"
    # The pid rule: 1 in 2 by pid, decided before anything is collected.
    env = base_env(r.collector, key_file, VIGIL_SAMPLE=prefix,
                   VIGIL_SAMPLE_EVERY="2")
    ok = True
    for _ in range(12):
        p = run([PROG, "true"], env)
        ev = r.drain()
        if p.pid % 2 == 0:
            ok = ok and (len(ev) == 2 and ev[1].end is not None and
                         ev[1].end.num(10) == 2 and
                         all(e.mac_ok() for e in ev))
        else:
            ok = ok and ev == []
    check(ok, "pid rule: even pids reported with sample_weight 2, "
          "odd pids not at all")
    # The run-time rule, a short run never kept (1 in a million).
    env = base_env(r.collector, key_file, VIGIL_SHORT=prefix,
                   VIGIL_SHORT_MS="60000", VIGIL_SHORT_EVERY="1000000")
    results = [run([PROG, "true"], env) for _ in range(5)]
    ev = r.drain()
    check(all(p.returncode == 0 and p.stderr == b"" for p in results) and
          ev == [], "run-time rule: short runs left out send nothing")
    p = run(["/bin/true"], env)
    ev = r.drain()
    check(len(starts(ev)) == 1 and len(ends(ev)) == 1,
          "run-time rule: programs outside the prefixes are reported")
    # Kept short runs: start (timed at start) then end, both signed.
    env = base_env(r.collector, key_file, VIGIL_SHORT=prefix,
                   VIGIL_SHORT_MS="60000", VIGIL_SHORT_EVERY="1")
    p = run([PROG, "sleep", "20"], env)
    ev = r.drain()
    if check(len(ev) == 2 and ev[0].start is not None and
             ev[1].end is not None, "run-time rule: a kept short run sends "
             "its start, then its end, at exit"):
        s, e = ev
        check(s.mac_ok() and e.mac_ok() and s.sequence == 1 and
              e.sequence == 2 and e.end.one(2) == s.event_id,
              "deferred start and end signed, sequence 1 and 2, linked")
        check(e.time - s.time >= 20 * 10**6 and
              e.end.num(4) >= 20 * 10**6 and e.end.num(10) == 0,
              "deferred start keeps its start time; weight 1 left out")
        check(s.start.one(7) == os.path.realpath(PROG).encode() and
              s.start.many(8) == [PROG.encode(), b"sleep", b"20"],
              "deferred start reports the same fields")
    env = base_env(r.collector, key_file, VIGIL_SHORT=prefix,
                   VIGIL_SHORT_MS="60000", VIGIL_SHORT_EVERY="1",
                   VIGIL_SAMPLE=prefix, VIGIL_SAMPLE_EVERY="3")
    weights = []
    for _ in range(9):
        run([PROG, "true"], env)
        weights += [e.end.num(10) for e in ends(r.drain())]
    check(weights and all(w == 3 for w in weights),
          "both rules: the weights multiply (3 x 1): %r" % weights)
    # A long run is always reported, with no weight.
    env = base_env(r.collector, key_file, VIGIL_SHORT=prefix,
                   VIGIL_SHORT_MS="10", VIGIL_SHORT_EVERY="1000000")
    p = run([PROG, "sleep", "50"], env)
    ev = r.drain()
    check(p.returncode == 0 and len(ev) == 2 and ev[0].start is not None and
          ev[1].end is not None and ev[1].end.num(10) == 0 and
          all(e.mac_ok() for e in ev),
          "run-time rule: a run longer than short_ms is reported")
    # That run was not drawn, so its start was collected at exit (the lazy
    # case): still timed at start, linked, and with the same fields.
    if len(ev) == 2 and ev[0].start is not None and ev[1].end is not None:
        s, e = ev
        check(e.time - s.time >= 50 * 10**6 and s.sequence == 1 and
              e.sequence == 2 and e.end.one(2) == s.event_id and
              s.start.one(7) == os.path.realpath(PROG).encode() and
              s.start.many(8) == [PROG.encode(), b"sleep", b"50"] and
              s.start.one(9) == os.getcwd().encode() and
              any(b"libc.so" in o["path"] for o in objects(s.start, 16)),
              "lazy start: start time, sequence, link, exe, argv, cwd and "
              "objects as for any start")
    # short_ms 0: every run is long, every start collected at exit.
    env = base_env(r.collector, key_file, VIGIL_SHORT=prefix,
                   VIGIL_SHORT_MS="0", VIGIL_SHORT_EVERY="1000000")
    p = run([PROG, "chdir", "/"], env)
    ev = r.drain()
    check(p.returncode == 0 and len(starts(ev)) == 1 and
          starts(ev)[0].start.one(9) == os.getcwd().encode(),
          "lazy start: the working directory is the one at start, not at "
          "exit")
    lib = os.path.join(BUILD, "sign", "libhello.so")
    p = run([PROG, "dlopen", lib], env)
    ev = r.drain()
    st_objs = objects(starts(ev)[0].start, 16) if starts(ev) else []
    dl = objects(ends(ev)[0].end, 8) if ends(ev) else []
    check(p.returncode == 0 and st_objs and
          all(o["path"] != lib.encode() for o in st_objs) and
          [o["path"] for o in dl] == [lib.encode()] and dl[0]["dlopened"],
          "lazy start: an object dlopened during the run is reported by "
          "the end record only")
    # A forked child never sends the parent's held start.
    env = base_env(r.collector, key_file, VIGIL_SHORT=prefix,
                   VIGIL_SHORT_MS="60000", VIGIL_SHORT_EVERY="1")
    p = run([PROG, "fork"], env)
    ev = r.drain()
    check(p.returncode == 0 and len(starts(ev)) == 1 and
          len(ends(ev)) == 1 and ends(ev)[0].end.num(1) == p.pid,
          "run-time rule and fork: one start, one end, the parent's")
    # Documented: an image replaced by exec never sends its held start.
    p = run([PROG, "exec", "2"], env)
    ev = r.drain()
    check(p.returncode == 0 and len(starts(ev)) == 1 and
          len(ends(ev)) == 1 and p.stdout.split() == [b"fds", b"0", b"1",
                                                       b"2"],
          "run-time rule and exec: only the last image is reported")


def case_hygiene(key_file):
    r = Receiver()
    env = base_env(r.collector, key_file)
    plain = {"PATH": "/usr/bin:/bin"}
    base = run([PROG, "errno"], plain).stdout
    p = run([PROG, "errno"], env)
    check(p.stdout == base and b"errno-at-exit 77" in p.stdout,
          "errno unchanged in constructor and exit handler: %r" % p.stdout)
    p = run([PROG, "fds"], env)
    check(p.stdout.split() == [b"fds", b"0", b"1", b"2"],
          "no descriptor left open after the constructor")
    out = subprocess.run(["nm", "-D", "--defined-only", LIB],
                         stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    exported = [line for line in out.splitlines()
                if line.split()[-2:-1] not in (["A"], ["U"])]
    check(exported == [], "no exported symbols: %r" % exported)
    out = subprocess.run(["nm", "-D", "--undefined-only", LIB],
                         stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    bad = [w for w in ("getaddrinfo", "gethostbyname", "getpwuid",
                       "getpwnam", "sigaction", "signal", "malloc",
                       "printf") if (" " + w + "@") in out]
    check(bad == [], "no name lookups, signal handlers, malloc or stdio")
    r.drain()


def case_collectors(key_file):
    # Nothing listening: the program runs as usual, silently.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    dead = "udp://127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    p = run(["/bin/true"], base_env(dead, key_file))
    check(p.returncode == 0 and p.stderr == b"" and p.seconds < 5,
          "dead collector: no error, no delay")
    p = run([PROG, "errno"], base_env(dead, key_file))
    check(b"errno-at-exit 77" in p.stdout, "dead collector: errno kept")
    # A host name is rejected before any lookup: nothing is sent.
    r = Receiver()
    port = r.collector.rsplit(":", 1)[1]
    for spec in ("udp://localhost:" + port, "udp://vigil.invalid:" + port):
        p = run(["/bin/true"],
                base_env(spec, key_file, VIGIL_DEBUG="1"))
        check(p.returncode == 0 and r.drain() == [] and
              b"no usable collector" in p.stderr and p.seconds < 5,
              "host name collector rejected without lookup: " + spec)
    # Unix datagram socket.
    d = tempfile.mkdtemp()
    path = os.path.join(d, "gw.sock")
    u = Receiver(socket.AF_UNIX, path)
    p = run(["/bin/true"], base_env(u.collector, key_file))
    ev = u.drain()
    check(p.returncode == 0 and len(ev) == 2 and ev[0].mac_ok(),
          "unix:<path> collector")
    os.unlink(path)
    os.rmdir(d)
    # IPv6 loopback, when the host has it.
    try:
        r6 = Receiver(socket.AF_INET6, ("::1", 0))
    except OSError:
        r6 = None
    if r6 is not None:
        p = run(["/bin/true"], base_env(r6.collector, key_file))
        check(p.returncode == 0 and len(r6.drain()) == 2,
              "udp://[::1]:port collector")
    else:
        p = run(["/bin/true"], base_env("udp://[::1]:9", key_file))
        check(p.returncode == 0 and p.stderr == b"",
              "no IPv6 here: dropped silently")
    # Switched off, or no VIGIL_ACTIVE at all: nothing sent.
    for active in ("0", None):
        p = run(["/bin/true"], base_env(r.collector, key_file,
                                        VIGIL_ACTIVE=active))
        check(p.returncode == 0 and r.drain() == [],
              "VIGIL_ACTIVE=%s: nothing sent" % active)
    # Filters: exclude prefix, users, include prefix.
    real_true = os.path.realpath("/bin/true")
    for extra, want in (({"VIGIL_EXCLUDE": os.path.dirname(real_true)}, 0),
                        ({"VIGIL_INCLUDE": "/opt/"}, 0),
                        ({"VIGIL_USERS": str(os.getuid() + 1)}, 0),
                        ({"VIGIL_USERS": str(os.getuid())}, 2)):
        p = run(["/bin/true"], base_env(r.collector, key_file, **extra))
        check(p.returncode == 0 and len(r.drain()) == want,
              "filter %r: %d records" % (extra, want))


def case_no_passwd_entry(key_file):
    r = Receiver()
    env = base_env(r.collector, key_file)
    uid = os.getuid()
    kw = {}
    if uid == 0:
        uid = 54321
        while True:
            try:
                import pwd
                pwd.getpwuid(uid)
                uid += 1
            except KeyError:
                break
        # The key must be readable by every user the library runs as.
        os.chmod(os.path.dirname(key_file), 0o755)
        os.chmod(key_file, 0o644)

        def drop():
            os.setgid(uid)
            os.setuid(uid)
        kw = {"preexec_fn": drop, "cwd": "/"}
    p = run([PROG, "true"], env, **kw)
    ev = r.drain()
    check(p.returncode == 0 and p.stderr == b"" and len(ev) == 2 and
          ev[0].start.num(3) == uid and ev[0].mac_ok(),
          "uid %d without a passwd entry" % uid)


def case_big(key_file):
    r = Receiver()
    args = ["%04d" % i + "a" * 996 for i in range(900)]
    extra = {"BIG%04d" % i: "e" * 990 for i in range(900)}
    env = base_env(r.collector, key_file, VIGIL_ENV="*", **extra)
    p = run([PROG, "true"] + args, env)
    ev = r.drain()
    if not check(p.returncode == 0 and len(ev) == 2,
                 "1.8 MB of argv and environment: start and end"):
        return
    s = ev[0]
    tr = s.start.msg(17)
    kept = len(s.start.many(8))
    kept_env = len(s.start.many(13))
    check(len(s.raw) <= 60004 and s.mac_ok(), "trimmed to the limit, signed")
    check(tr is not None and kept + tr.num(1) == 902 and kept > 2,
          "argv trimmed at an element boundary, count kept (%d + %d)" %
          (kept, tr.num(1) if tr else -1))
    check(tr is not None and tr.num(2) > 0 and
          kept_env + tr.num(2) == len(env), "environment dropped counted")
    check(s.start.many(8)[2] == args[0].encode(), "arguments byte-exact")


def case_many_objects(key_file):
    r = Receiver()
    p = run([os.path.join(BUILD, "many-prog"), "true"],
            base_env(r.collector, key_file))
    ev = r.drain()
    if not check(p.returncode == 0 and len(ev) == 2, "200 shared objects"):
        return
    objs = objects(ev[0].start, 16)
    tr = ev[0].start.msg(17)
    dropped = tr.num(3) if tr else 0
    many = [o for o in objs if b"/many/libm" in o["path"]]
    check(len(objs) + dropped >= 205 and len(many) + dropped >= 200 and
          all(o["build_id"] for o in many), "all objects reported or counted")


def case_dlopen_and_watermarks(key_file):
    r = Receiver()
    env = base_env(r.collector, key_file)
    sign = os.path.join(BUILD, "sign")
    wm_prog = watermark_of(os.path.join(sign, "wm-prog.json"))
    wm_lib = watermark_of(os.path.join(sign, "wm-lib.json"))
    wm_two = watermark_of(os.path.join(sign, "wm-two.json"))
    lib = os.path.join(sign, "libhello.so")
    p = run([PROG, "dlopen", lib], env)
    ev = r.drain()
    en = ends(ev)
    dl = objects(en[0].end, 8) if en else []
    check(p.returncode == 0 and len(dl) == 1 and
          dl[0]["path"] == lib.encode() and dl[0]["dlopened"] and
          dl[0]["watermark"] == wm_lib, "dlopen after start reported at end")
    for prog, want_exe in (("hello", wm_prog), ("hello-two", wm_two),
                           ("plain", None)):
        p = run([os.path.join(sign, prog)], env)
        ev = r.drain()
        objs = objects(ev[0].start, 16) if ev else []
        by = {os.path.basename(o["path"]): o for o in objs}
        check(p.returncode == 0 and objs and
              objs[0]["watermark"] == want_exe and
              by[b"libhello.so"]["watermark"] == wm_lib and
              by[b"libc.so.6"]["watermark"] is None,
              "%s: watermark of program %s, of library reported" %
              (prog, "none" if want_exe is None else "found"))


def case_sign_arguments():
    """vigil-sign refuses values that would break the note or its JSON line
    (exit 2, nothing written), and accepts a plain one."""
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "tools", "vigil-sign")
    d = tempfile.mkdtemp()
    out = os.path.join(d, "wm.o")
    refused = []
    for bad in ("two\nlines", "tab\there", 'quo"te', "back\\slash"):
        p = subprocess.run(["sh", tool, "--package", bad, "--version", "1",
                            "--out", out], capture_output=True)
        refused.append(p.returncode == 2 and p.stdout == b"" and
                       not os.path.exists(out))
    check(all(refused), "vigil-sign: newline, tab, quote and backslash "
          "refused with status 2, nothing written: %r" % refused)
    p = subprocess.run(["sh", tool, "--package", "ok-1.2", "--version", "1",
                        "--out", out], capture_output=True)
    check(p.returncode == 0 and os.path.exists(out) and
          b'"package":"ok-1.2"' in p.stdout, "vigil-sign: a plain value "
          "writes the object and its JSON line")
    if os.path.exists(out):
        os.unlink(out)
    os.rmdir(d)


def case_python(key_file):
    r = Receiver()
    p = run(["python3", "-c", "pass"], base_env(r.collector, key_file))
    ev = r.drain()
    check(p.returncode == 0 and p.stderr == b"" and len(ev) >= 2 and
          all(e.mac_ok() for e in ev), "python3 -c pass")


def main():
    d = tempfile.mkdtemp()
    key_file = os.path.join(d, "key")
    with open(key_file, "w") as f:
        f.write(KEY.hex() + "\n")
    try:
        case_true(key_file)
        case_exit_status(key_file)
        case_unsigned()
        case_process_tree(key_file)
        case_sampling(key_file)
        case_hygiene(key_file)
        case_collectors(key_file)
        case_no_passwd_entry(key_file)
        case_big(key_file)
        case_many_objects(key_file)
        case_dlopen_and_watermarks(key_file)
        case_python(key_file)
        case_sign_arguments()
    finally:
        os.unlink(key_file)
        os.rmdir(d)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
