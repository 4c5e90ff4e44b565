#!/bin/bash
# The export bench (bench/README.md, "Export"): a 512 m x 512 m region in front of lyra2_06's spawn
# at LOD 0 in every format, one after another, each checked as its users' tools read it
# (bench/check_export.py); the gltf-spz export is also rebuilt from its manifest and compared.
# Each folder is deleted once measured (the splat glTF and PLY are about 2 GB each).
#   bash bench/export_bench.sh [WORK_DIR]        FORMATS="spz ply" bash bench/export_bench.sh
set -u
cd "$(dirname "$0")/.."
B=${1:-/tmp/exp-bench}
PHOTO=../shared/photos/lyra2_06.png
mkdir -p "$B"
base() { .venv/bin/python -c "from bridge.benches.generation import baseline_ms; print(round(baseline_ms(), 2))"; }
# The world first, so its preparation is in no format's time.
.venv/bin/worldbridge export $PHOTO --region=0,-8,8,0 --format ply --lod 0 --data "$B/data" --out "$B/warm" --json
for f in ${FORMATS:-gltf-spz spz glb gltf-splats 3dtiles ply}; do
  echo "== $f $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) baseline_ms $(base)"
  /usr/bin/time -f "peak_rss_kib %M" .venv/bin/worldbridge export $PHOTO --region=-256,-512,256,0 --format "$f" \
      --lod 0 --data "$B/data" --out "$B/out-$f" --json
  .venv/bin/python bench/check_export.py "$B/out-$f"
  echo "bytes on disk $(du -sb "$B/out-$f" | cut -f1)"
  echo "== end $f $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) baseline_ms $(base)"
  if [ "$f" = "gltf-spz" ]; then
    /usr/bin/time -f "peak_rss_kib %M" .venv/bin/worldbridge export --from-manifest "$B/out-$f/manifest.json" \
        --data "$B/data" --out "$B/again-$f" --json
    diff -r "$B/out-$f" "$B/again-$f" > /dev/null && echo "rebuild $f: identical" || echo "rebuild $f: DIFFERS"
    rm -rf "$B/again-$f"
  fi
  rm -rf "$B/out-$f"
done
