#!/usr/bin/env bash
# Checks that the README's "Using the C library" section states what scripts/dist.sh builds:
#   * the soname suffix (`.so.0.2`) everywhere the README names `libengram_kernels.so.<abi>`;
#   * the sizes of libengram_kernels.a and of the .so, in MiB rounded to one decimal;
#   * every engram_* export of the archive, named in the "### The exports" section and declared
#     in include/engram_kernels.h; and no name there that the library does not export.
#
# Usage: scripts/check-readme-c.sh [--fix]
#   --fix  rewrites the soname and the sizes in README.md, and adds a row to the exports table
#          for each export it lacks (its parameters and the first sentence of its comment in the
#          header: edit the row afterwards if it needs more).
#
# Reuses target/dist when it is newer than every source it is built from (CI runs this right
# after scripts/link-tests.sh, which builds it); otherwise runs scripts/dist.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
case ${1:-} in
    "") ;;
    --fix) fix=1 ;;
    *) echo "usage: scripts/check-readme-c.sh [--fix]" >&2; exit 2 ;;
esac

dist=target/dist
archive=$dist/lib/libengram_kernels.a
if [[ ! -f $archive ]] ||
    [[ -n $(find src capi/src include Cargo.toml capi/Cargo.toml -newer "$archive" -print -quit) ]]; then
    echo "check-readme-c: target/dist is missing or older than the sources; running scripts/dist.sh"
    bash scripts/dist.sh >/dev/null
fi

# The facts, from the built files.
shared=$(readlink -f "$dist/lib/libengram_kernels.so")
soname=$(readelf -dW "$shared" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
abi=${soname#libengram_kernels.so.}
mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
a_size=$(mib "$archive")
so_size=$(mib "$shared")
exports=$(nm -g --defined-only "$archive" | awk 'NF == 3 && $3 ~ /^engram_/ {print $3}' | sort -u)

export A_SIZE=$a_size SO_SIZE=$so_size ABI=$abi EXPORTS=$exports FIX=$fix
python3 - <<'EOF'
import os, re, sys

fix = os.environ["FIX"] == "1"
a_size, so_size, abi = os.environ["A_SIZE"], os.environ["SO_SIZE"], os.environ["ABI"]
exports = os.environ["EXPORTS"].split()
readme = open("README.md", encoding="utf-8").read()
header = open("include/engram_kernels.h", encoding="utf-8").read()
problems = []

# The C section: from its heading to the next level-2 heading.
start = readme.index("## Using the C library")
end = readme.index("\n## ", start + 1)
section = readme[start:end]

# The soname wherever the section names the shared library's versioned file.
def soname(m):
    if m.group(1) != abi:
        problems.append(f"the README says .so.{m.group(1)}, the library's soname ends in .so.{abi}")
    return m.group(0)[: -len(m.group(1))] + abi
section = re.sub(r"(?<![\w.])(?:libengram_kernels)?\.so\.(\d+(?:\.\d+)*)", soname, section)

# The sizes, first thing in each file's table row.
SIZE = r"\d+(?:\.\d+)? ?(?:[KM]i?B)"
def size_in_row(section, row_start, want, what):
    m = re.search(re.escape(row_start) + r"[^|\n]*\| (" + SIZE + ")", section)
    if not m:
        problems.append(f"no size found in the README's {what} row")
        return section
    if m.group(1) != want:
        problems.append(f"the README gives {what} as {m.group(1)}, it is {want}")
    return section[: m.start(1)] + want + section[m.end(1):]
section = size_in_row(section, "| `lib/libengram_kernels.a`", a_size, "libengram_kernels.a")
section = size_in_row(section, "| `lib/libengram_kernels.so`", so_size, "the .so")

# The exports: declared in the header, named in the exports subsection, and nothing stale.
decls = {}
for m in re.finditer(r"/\*((?:(?!\*/).)*)\*/\s*[\w\s*]*?\b(engram_\w+)\s*\(([^)]*)\)\s*;", header, re.S):
    comment, name, params = m.groups()
    decls[name] = (comment, params)
sub_start = section.index("### The exports")
exports_text = section[sub_start:]
named = set(re.findall(r"`(engram_\w+)[`(]", exports_text))
for name in exports:
    if name not in decls:
        problems.append(f"{name} is exported but not declared in include/engram_kernels.h")
for name in sorted(named - set(exports)):
    problems.append(f"the README's exports section names {name}, which the library does not export")
missing = [n for n in exports if n not in named]
for name in missing:
    problems.append(f"{name} is exported but the README's exports section does not name it")
if missing and fix:
    rows = []
    for name in missing:
        comment, params = decls.get(name, ("", ""))
        args = ", ".join(re.findall(r"(\w+)\s*(?:,|$)", " ".join(params.split()))) if params.strip() != "void" else ""
        text = " ".join(re.sub(r"^\s*\*", "", l) for l in comment.splitlines()).strip()
        first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0].rstrip(".").split(":")[0]
        if first.count("(") > first.count(")"):
            first = first[: first.index("(")].rstrip()
        rows.append(f"| `{name}({args})` | {first[:1].lower() + first[1:]} |")
    # After the last row of the first table of the subsection.
    table = re.search(r"\n\| Export \| Does \|\n\|[-|]+\|\n(?:\|.*\|\n)*", exports_text)
    if not table:
        print("check-readme-c: no exports table to add rows to", file=sys.stderr)
        sys.exit(1)
    exports_text = exports_text[: table.end()] + "\n".join(rows) + "\n" + exports_text[table.end():]
    section = section[:sub_start] + exports_text

if not problems:
    print(f"check-readme-c: ok (.a {a_size}, .so {so_size}, soname .so.{abi}, {len(exports)} exports)")
    sys.exit(0)
for p in problems:
    print(f"check-readme-c: {p}", file=sys.stderr)
if fix:
    open("README.md", "w", encoding="utf-8").write(readme[:start] + section + readme[end:])
    print("check-readme-c: README.md rewritten; review the diff", file=sys.stderr)
    sys.exit(0)
print("check-readme-c: run scripts/check-readme-c.sh --fix", file=sys.stderr)
sys.exit(1)
EOF
