#!/usr/bin/env python3
"""Flash and RAM of a board image, by part (printed by the build).

   footprint.py IMAGE.elf IMAGE.map SIZE_TOOL [OUT]

Reads GNU ld's map file and attributes every input section of the image to
a part: the engine (libzsock.a: sockets, fds, net_bufs, poll, the port),
lwIP, BearSSL, the board (startup, drivers), the C library, and the
application (everything else), then prints flash (code, constants, the
initial values of data) and static RAM (data, bss) per part, the stack
reserved by the linker script, and what is left of the 64 KiB of RAM.
arm-none-eabi-size's own line comes first. Printed, and written to OUT.
"""
import re
import subprocess
import sys

# output sections of boards/lm3s6965evb/lm3s6965evb.ld (debug ones ignored)
FLASH_ONLY = {".isr_vector", ".text", ".rodata", ".ARM.exidx", ".ARM.extab",
              ".preinit_array", ".init_array", ".fini_array", "zsock_socket_register"}
RAM_AND_FLASH = {".data", ".tdata"}
RAM_ONLY = {".bss", ".tbss", ".noinit"}
RAM_TOTAL = 64 * 1024
FLASH_TOTAL = 256 * 1024

# lwIP and BearSSL are linked whole into libzsock.a: told apart by path
PARTS = [
    ("lwIP", re.compile(r"libzsock(_lwip)?\.a\(subprojects_lwip|libzsock_lwip\.a\(")),
    # BearSSL's objects are src_<dir>_<file>.c.o inside libzsock.a
    ("BearSSL", re.compile(r"subprojects_bearssl|libbearssl|libzsock\.a\(src_")),
    ("engine (libzsock)", re.compile(r"libzsock\.a\(")),
    ("board", re.compile(r"libzsock_board\.a")),
    ("C library", re.compile(r"(libc|libg|libgcc|libsemihost|libm)\.a\(|crt0")),
]


def part_of(obj):
    for name, rx in PARTS:
        if rx.search(obj):
            return name
    return "application"


def parse(map_path):
    """Yield (output section, size, object) for every input section."""
    out_sec = None
    pending = None
    in_map = False
    line_rx = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    for line in open(map_path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        m = re.match(r"^(\.\S+|zsock_socket_register)\s*(0x[0-9a-f]+)?", line)
        if m and not line.startswith(" "):
            out_sec = m.group(1)
            pending = None
            continue
        if re.match(r"^ \S+$", line):
            pending = line.strip()      # name alone; numbers follow on the next line
            continue
        m = line_rx.match(line)
        if m and out_sec is not None:
            name = m.group(1) or pending
            pending = None
            if name is None or name.startswith("*"):
                continue
            size = int(m.group(3), 16)
            if size:
                yield out_sec, size, m.group(4)


def main():
    elf, map_path, size_tool = sys.argv[1:4]
    lines = []
    print = lines.append    # noqa: A001 - collect, then print and write
    print(subprocess.run([size_tool, elf], capture_output=True, text=True).stdout.rstrip())
    flash = {}
    ram = {}
    stack = 0
    for sec, size, obj in parse(map_path):
        part = part_of(obj)
        if sec == ".stack":
            stack += size
        elif sec in RAM_ONLY:
            ram[part] = ram.get(part, 0) + size
        elif sec in RAM_AND_FLASH:
            ram[part] = ram.get(part, 0) + size
            flash[part] = flash.get(part, 0) + size
        elif sec in FLASH_ONLY:
            flash[part] = flash.get(part, 0) + size
    if stack == 0:
        m = re.search(r"0x([0-9a-f]+)\s+__stack_size = ", open(map_path).read())
        stack = int(m.group(1), 16) if m else 0
    names = [p for p, _ in PARTS] + ["application"]
    print(f"{'part':<20} {'flash':>8} {'RAM':>8}")
    for p in names:
        if flash.get(p) or ram.get(p):
            print(f"{p:<20} {flash.get(p, 0):>8} {ram.get(p, 0):>8}")
    tf, tr = sum(flash.values()), sum(ram.values())
    print(f"{'total':<20} {tf:>8} {tr:>8}")
    print(f"stack (linker script) {stack} B; RAM left for the heap and more "
          f"application: {RAM_TOTAL - tr - stack} B of {RAM_TOTAL}; "
          f"flash used {tf} B of {FLASH_TOTAL} ({tf / 1024:.1f} KiB)")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if len(sys.argv) > 4:
        with open(sys.argv[4], "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
