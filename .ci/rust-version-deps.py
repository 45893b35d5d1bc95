"""Fails if a locked (normal or build) dependency of the seatbook crate
declares a newer `rust-version` than the crate's own, i.e. if Cargo.toml's
rust-version is a lie (README, "Rust version"). Reads `cargo metadata`
only: no build."""

import json, subprocess, sys

meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--locked",
     "--filter-platform", "x86_64-unknown-linux-gnu"],
    check=True, capture_output=True, text=True).stdout)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = next(p for p in meta["packages"] if p["name"] == "seatbook")
def ver(v):
    return tuple(int(x) for x in v.split("."))
declared = root["rust_version"]
seen, todo = set(), [root["id"]]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for dep in nodes[i]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
            todo.append(dep["pkg"])
need = max((ver(packages[i]["rust_version"] or "0"), packages[i]["name"]) for i in seen - {root["id"]})
print(f"rust-version {declared}; the newest a dependency needs: {'.'.join(map(str, need[0]))} ({need[1]})")
if need[0] > ver(declared):
    sys.exit(f"rust-version {declared} is too old: {need[1]} needs {'.'.join(map(str, need[0]))}")
