#!/usr/bin/env python3
"""Writes a one-layer Docker-archive image (the `docker save` format) that
`ctr images import` reads, with no registry and no Docker daemon.

    docker-archive.py --out IMG.tar --tag localhost/NAME:VERSION --entrypoint /path/bin
        [--user 65532:65532] [--file SRC:DEST ...] [--libs-of BIN ...] [--dir DEST:MODE ...]

--file copies SRC (symlinks followed) to DEST; --libs-of adds every shared library `ldd`
lists for BIN at the path ldd names (the dynamic loader included), so a glibc-linked binary
runs with nothing else in the image. The tar is reproducible: sorted entries, mtime 0,
owner root, so the same inputs give the same image digest.
"""

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile


def ldd_paths(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if out.returncode != 0:
        # "not a dynamic executable": a static binary needs no libraries.
        if "not a dynamic executable" in (out.stdout + out.stderr):
            return []
        sys.exit(f"docker-archive: ldd {binary} failed: {out.stderr.strip()}")
    paths = []
    for line in out.stdout.splitlines():
        line = line.strip()
        m = re.match(r"^\S+ => (/\S+) \(0x", line) or re.match(r"^(/\S+) \(0x", line)
        if m:
            paths.append(m.group(1))
        elif "=>" in line and "not found" in line:
            sys.exit(f"docker-archive: {binary}: {line}")
    return paths


def add_dirs(entries, dest):
    parts = dest.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        entries.setdefault("/".join(parts[:i]), ("dir", 0o755))


def layer_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            kind, value = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = value
                tar.addfile(info)
            else:
                with open(value, "rb") as f:
                    data = f.read()
                info.size = len(data)
                info.mode = os.stat(value).st_mode & 0o7777
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--entrypoint", required=True)
    ap.add_argument("--user", default="")
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--libs-of", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    a = ap.parse_args()

    entries = {}
    for spec in a.file:
        src, dest = spec.split(":", 1)
        add_dirs(entries, dest)
        entries[dest.strip("/")] = ("file", os.path.realpath(src))
    for binary in a.libs_of:
        for lib in ldd_paths(binary):
            add_dirs(entries, lib)
            entries[lib.strip("/")] = ("file", os.path.realpath(lib))
    for spec in a.dir:
        dest, mode = spec.split(":", 1)
        add_dirs(entries, dest + "/x")
        entries[dest.strip("/")] = ("dir", int(mode, 8))

    layer = layer_bytes(entries)
    layer_sha = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Entrypoint": [a.entrypoint],
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_sha}"]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "scripts/node/docker-archive.py"}],
    }
    if a.user:
        config["config"]["User"] = a.user
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_sha = hashlib.sha256(config_bytes).hexdigest()
    manifest = [{"Config": f"{config_sha}.json", "RepoTags": [a.tag], "Layers": [f"{layer_sha}/layer.tar"]}]

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [
            (f"{layer_sha}/layer.tar", layer),
            (f"{config_sha}.json", config_bytes),
            ("manifest.json", json.dumps(manifest).encode()),
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, a.out)
    print(f"sha256:{config_sha}")


if __name__ == "__main__":
    main()
