#!/usr/bin/env python3
"""make profile: where the constructor and the exit handler spend their time.

Runs a program (default /bin/true) RUNS times under profile builds of the
library (-DVG_PROFILE: time stamp counter marks between the steps, written
to stderr), with a config file and a key file like the bench, sending to a
UDP socket this script drains. Prints the median of each step in us, one
column per library; several libraries alternate run by run, so that drift
hits them alike.

    tests/profile.py [--runs N] [--unix] LIB.so [LIB2.so ...] [-- PROG ARGS]
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile


def main():
    args = sys.argv[1:]
    runs, use_unix, libs, prog = 300, False, [], ["/bin/true"]
    while args:
        a = args.pop(0)
        if a == "--runs":
            runs = int(args.pop(0))
        elif a == "--unix":
            use_unix = True
        elif a == "--":
            prog = args
            break
        else:
            libs.append(os.path.abspath(a))
    tmp = tempfile.mkdtemp(prefix="vigil-profile-")
    key = os.path.join(tmp, "key")
    with open(key, "w") as f:
        f.write(bytes(range(32)).hex() + "\n")
    if use_unix:
        path = os.path.join(tmp, "sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        collector = "unix:" + path
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        collector = "udp://127.0.0.1:%d" % sock.getsockname()[1]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setblocking(False)
    conf = os.path.join(tmp, "conf")
    with open(conf, "w") as f:
        f.write("active = 1\ncollector = %s\nkey_id = profile\n"
                "key_file = %s\n" % (collector, key))
    # steps[lib][tag][name] = [us, ...]
    steps = [dict() for _ in libs]
    order = [dict() for _ in libs]
    for r in range(runs + 2):
        for i in range(len(libs)):
            k = (r + i) % len(libs)
            env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": libs[k],
                   "VIGIL_CONFIG": conf}
            out = subprocess.run(prog, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE).stderr.decode()
            while True:
                try:
                    sock.recv(65536)
                except BlockingIOError:
                    break
            if r < 2:
                continue  # page cache and dentries warm
            for line in out.splitlines():
                parts = line.split()
                if len(parts) < 3 or parts[0] != "vgprof":
                    continue
                tag, rate = parts[1], int(parts[2]) / 1000.0
                total = 0.0
                names = order[k].setdefault(tag, [])
                for item in parts[3:]:
                    name, ticks = item.split("=")
                    us = int(ticks) * rate / 1000.0
                    total += us
                    if name not in names:
                        names.append(name)
                    steps[k].setdefault(tag, {}).setdefault(name, []).append(
                        us)
                steps[k][tag].setdefault("TOTAL", []).append(total)
    print("median us over %d runs of %s (%s)" %
          (runs, " ".join(prog), collector.split(":")[0]))
    print("%-22s" % "step" + "".join(" %9s" % ("lib%d" % (i + 1))
                                     for i in range(len(libs))))
    for tag in ("start", "end"):
        names = order[0].get(tag, []) + ["TOTAL"]
        for name in names:
            row = "%-22s" % ("%s %s" % (tag, name))
            for k in range(len(libs)):
                v = steps[k].get(tag, {}).get(name)
                row += " %9.2f" % statistics.median(v) if v else " %9s" % "-"
            print(row)
    for i, lib in enumerate(libs):
        print("lib%d = %s" % (i + 1, lib))


main()
