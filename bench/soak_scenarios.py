#!/usr/bin/env python3
"""Random scenario generator for bench/soak.sh (issue 11 §4).

Writes one random multi-process scenario TOML to stdout: a random strategy
(every one vmlab has), machine size, placement, scheduler and quantum; one
to six processes with random sizes (whole sizes or code/heap/stack),
accesses of every width at random offsets (near each bound on purpose), and
a random script (accesses, spawn, switch, compact, move, map, costs, sbrk,
write, exit). Sometimes a small RISC-V program, sometimes a broken line:
the binary must answer every one with exit 0, 1 or 2, never a crash.

    bench/soak_scenarios.py SEED > s.toml
"""
import random
import sys

STRATEGIES = ["uniprogramming", "time-sharing", "static-relocation", "base",
              "base-bounds", "segmentation"]
PLACEMENTS = ["first-fit", "best-fit", "worst-fit", "next-fit"]
SCHEDULERS = ["fifo", "sjf", "stcf", "rr"]
WIDTHS = ["", ".b", ".h", ".w", ".d"]
PROGRAMS = [
    # A loop of stores walking up the heap, then exit.
    """    li   a0, 64
    li   a7, 12
    ecall
    li   t0, 0
1:  sd   t0, 0(a0)
    addi a0, a0, 8
    addi t0, t0, 1
    li   t1, 6
    blt  t0, t1, 1b
    li   a0, 0
    li   a7, 2
    ecall""",
    # Recursion: implicit stack growth.
    """    li   a0, 40
    call f
    li   a7, 2
    ecall
f:  addi sp, sp, -16
    sd   ra, 8(sp)
    beqz a0, 1f
    addi a0, a0, -1
    call f
1:  ld   ra, 8(sp)
    addi sp, sp, 16
    ret""",
    # A store far away: a fault.
    """    li   t0, 0x12345
    sw   t0, 0(t0)
    li   a7, 2
    ecall""",
    # Spin: the instruction limit ends it.
    """loop: j loop""",
]


def size(r, lo, hi):
    n = r.randint(lo, hi)
    return r.choice([str(n), hex(n), f"{max(1, n // 1024)}k"])


def address(r, span):
    # Near a bound (just inside, just outside), or anywhere.
    edge = r.choice([span, span // 2, span // 4, 3 * span // 4, 1 << 12, 1 << 14])
    return max(0, edge + r.randint(-9, 8)) if r.random() < 0.7 else r.randint(0, 2 * span + 16)


def op(r, span):
    kind = r.random()
    if kind < 0.75:
        verb = r.choice(["load", "store", "fetch"])
        width = r.choice(WIDTHS) if verb != "fetch" else ""
        a = address(r, span)
        star = "*" if r.random() < 0.1 else ""
        text = f"{verb}{width} {star}{hex(a) if r.random() < 0.5 else a}"
        if verb == "store" and r.random() < 0.5:
            text += f" = {hex(r.getrandbits(64))}"
        return text
    return r.choice([f"sbrk {r.randint(-64, 512)}", "getpid", "write hi", "yield",
                     f"exit {r.randint(0, 3)}", f"syscall {r.randint(0, 300)} 1"])


def scenario(seed):
    r = random.Random(seed)
    strategy = r.choice(STRATEGIES)
    memory = r.choice([4, 8, 16, 64, 256, 1024]) << 10
    nproc = r.randint(1, 6)
    lines = ['title = "soak %d"' % seed]
    names = [f"P{i}" for i in range(nproc)]
    script = []
    for _ in range(r.randint(0, 25)):
        c = r.random()
        n = r.choice(names)
        if c < 0.7:
            script.append(f"{n}: {op(r, 1024)}")
        else:
            script.append(r.choice([f"spawn {n}", f"switch {n}", "compact",
                                    f"move {n} {hex(r.randint(0, memory))}", "map", "costs",
                                    f"say step {len(script)}"]))
    if r.random() < 0.05:
        script.append(r.choice(["P9: load 0", "teleport P0", "P0: load", "P0: store.q 0"]))
    lines.append("script = [" + ", ".join('"%s"' % s for s in script) + "]")
    lines += ["[machine]", f'memory = "{memory}"', f'os_size = "{size(r, 256, 4096)}"',
              f'strategy = "{strategy}"', f'placement = "{r.choice(PLACEMENTS)}"']
    if strategy == "segmentation":
        lines.append(f"va_bits = {r.choice([14, 16, 20, 32, 64])}")
        lines.append(f'stack_limit = "{size(r, 64, 8192)}"')
    lines.append(f'scheduler = "{r.choice(SCHEDULERS)}"')
    lines.append(f"quantum = {r.randint(1, 5)}")
    if r.random() < 0.3:
        lines.append(f"timer = {r.randint(1, 500)}")
    for i, n in enumerate(names):
        lines += ["[[process]]", f'name = "{n}"']
        if strategy == "segmentation" or r.random() < 0.3:
            lines.append(f'code = "{size(r, 16, 2048)}"')
            lines.append(f'heap = "{size(r, 0, 2048)}"')
            lines.append(f'stack = "{size(r, 16, 2048)}"')
        else:
            lines.append(f'size = "{size(r, 64, 4096)}"')
        if i > 0 and r.random() < 0.3:
            lines.append("delayed = true")
        if r.random() < 0.25:
            lines.append('source = """\n' + r.choice(PROGRAMS) + '\n"""')
            lines.append(f"limit = {r.randint(1, 20000)}")
        else:
            ops = [op(r, 1024) for _ in range(r.randint(0, 12))]
            lines.append("accesses = [" + ", ".join('"%s"' % o for o in ops) + "]")
    text = "\n".join(lines) + "\n"
    if r.random() < 0.03:
        # A broken file: a parse error with a line, never a crash.
        k = r.randrange(len(text))
        text = text[:k] + r.choice(["\x00", "]", "= =", "\n[[process]]\n", "😀"]) + text[k:]
    return text


if __name__ == "__main__":
    sys.stdout.write(scenario(int(sys.argv[1])))
