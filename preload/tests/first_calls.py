#!/usr/bin/env python3
"""Runs build/first_calls RUNS times per step sequence and prints the median
of each step in microseconds (see tests/first_calls.c for the letters).

    tests/first_calls.py [--runs N] SEQUENCE...     e.g. gecbss gsecbu
A UDP sink on a free loopback port takes the 'u' datagrams.
"""
import argparse
import collections
import os
import socket
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = os.path.join(HERE, "..", "build", "first_calls")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("sequences", nargs="+")
    args = ap.parse_args()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    port = str(sink.getsockname()[1])
    for seq in args.sequences:
        steps = collections.defaultdict(list)
        for _ in range(args.runs):
            out = subprocess.run([PROG, seq, "/etc/hostname", port],
                                 capture_output=True, text=True,
                                 check=True).stdout.split("\n")
            for i, line in enumerate(x for x in out if x):
                letter, us = line.split()
                steps[(i, letter)].append(float(us))
            try:
                while True:
                    sink.recv(2048)
            except BlockingIOError:
                pass
        print(seq, " ".join("%s=%.1f" % (letter, statistics.median(v))
                            for (_, letter), v in sorted(steps.items())))


if __name__ == "__main__":
    main()
