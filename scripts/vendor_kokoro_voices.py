"""Re-derive voicer's vendored Kokoro Mandarin voices from the npm package kokoro-js@1.2.1.

    python scripts/vendor_kokoro_voices.py          # verify the vendored files
    python scripts/vendor_kokoro_voices.py --write  # (re)write them

It runs `npm pack kokoro-js@1.2.1` in a temporary directory, takes `package/voices/z[fm]_*.bin`
(float32 style vectors, 510 x 256, Apache-2.0, by hexgrad), and compares them byte for byte
with voicer/synthesis/engines/voices/kokoro/ and the sha256 sums in its provenance.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "kokoro-js@1.2.1"
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "voicer" / "synthesis" / "engines" / "voices" / "kokoro"


def fetch_voices(workdir: Path) -> dict[str, bytes]:
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True)
    (tarball,) = workdir.glob("kokoro-js-*.tgz")
    voices = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = Path(member.name).name
            if member.name.startswith("package/voices/z") and name.endswith(".bin"):
                data = archive.extractfile(member)
                if data is None:
                    raise SystemExit(f"{member.name} in {tarball.name} is not a file")
                voices[name] = data.read()
    return voices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the files instead of checking")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        voices = fetch_voices(Path(tmp))
    provenance = json.loads((TARGET / "provenance.json").read_text(encoding="utf-8"))
    problems = 0
    for name, data in sorted(voices.items()):
        digest = hashlib.sha256(data).hexdigest()
        path = TARGET / name
        if args.write:
            path.write_bytes(data)
            provenance["files"][name] = digest
            print(f"wrote {name} {digest}")
            continue
        same = path.exists() and path.read_bytes() == data
        recorded = provenance["files"].get(name) == digest
        print(f"{name}: {'ok' if same and recorded else 'DIFFERS'} {digest}")
        problems += not (same and recorded)
    if args.write:
        text = json.dumps(provenance, indent=2, ensure_ascii=False) + "\n"
        (TARGET / "provenance.json").write_text(text, encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
