#!/usr/bin/env bash
# How long one durable write takes on the disk under DIR (default: a
# temporary directory under /tmp), the way the persistence log makes one:
# 4 KiB written over zeros already written and synced, then `fdatasync`;
# and the same as one O_DIRECT|O_DSYNC write, which a disk that honours
# FUA could finish in one round trip instead of two. Also from 2 and 4
# threads at once on one file, to show whether syncs overlap; and 190 KB
# batches appended over zeros, buffered and past the page cache, with the
# CPU each costs.
# Needs: python3 (benches/install-bench-deps.sh).
#   usage: benches/sync_latency.sh [DIR] [COUNT]   (COUNT default 400)
set -euo pipefail
dir=$(mktemp -d -p "${1:-/tmp}")
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/file" "${2:-400}" <<'PY'
import mmap, os, resource, sys, threading, time
path, n = sys.argv[1], int(sys.argv[2])
size = 8 << 20
fd = os.open(path, os.O_RDWR | os.O_CREAT)
os.write(fd, b"\0" * size)
os.fsync(fd)
def synced(k, stride, out):
    t = time.perf_counter()
    for i in range(n):
        os.pwrite(fd, b"x" * 4096, ((i * stride + k) * 4096) % size)
        os.fdatasync(fd)
    out.append((time.perf_counter() - t) / n * 1e6)
for threads in (1, 2, 4):
    out = []
    ts = [threading.Thread(target=synced, args=(k, threads, out)) for k in range(threads)]
    t = time.perf_counter()
    for x in ts: x.start()
    for x in ts: x.join()
    rate = threads * n / (time.perf_counter() - t)
    print(f"write+fdatasync, {threads} thread(s): {sum(out)/len(out):.0f} µs each, {rate:.0f} syncs/s")
os.close(fd)
try:
    fd = os.open(path, os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
except OSError as e:
    # tmpfs and some others take no O_DIRECT.
    print(f"O_DIRECT|O_DSYNC write: not possible here ({e.strerror})")
    sys.exit(0)
buf = mmap.mmap(-1, 4096)
buf.write(b"y" * 4096)
t = time.perf_counter()
for i in range(n):
    os.pwritev(fd, [buf], (i * 4096) % size)
print(f"O_DIRECT|O_DSYNC write: {(time.perf_counter() - t) / n * 1e6:.0f} µs each")
os.close(fd)
# Batches the size of three node_exporter pushes (190 KB), appended one after
# the other over zeros as the log appends them, with the CPU each costs the
# writing process: buffered, and past the page cache from the start of the
# block the batch starts in (as pgw writes them where it can).
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
batch, count = 190_000, 300
big = 128 << 20
fd = os.open(path, os.O_RDWR | os.O_TRUNC)
for _ in range(big // size):
    os.write(fd, b"\0" * size)
os.fsync(fd)
data = os.urandom(batch)
end = 8
t, c = time.perf_counter(), cpu()
for _ in range(count):
    os.pwrite(fd, data, end)
    os.fdatasync(fd)
    end += batch
print(f"190 KB batch, write + fdatasync: {(time.perf_counter() - t) / count * 1e6:.0f} µs, "
      f"{(cpu() - c) / count * 1e6:.0f} µs of CPU each")
os.close(fd)
for flags, name, sync in ((os.O_DIRECT, "O_DIRECT write + fdatasync", True),
                          (os.O_DIRECT | os.O_DSYNC, "O_DIRECT|O_DSYNC write", False)):
    fd = os.open(path, os.O_RDWR | flags)
    padded = (batch + 8191) // 4096 * 4096
    buf = mmap.mmap(-1, padded)
    buf.write(data + b"\0" * (padded - batch))
    t, c = time.perf_counter(), cpu()
    for _ in range(count):
        os.pwritev(fd, [buf], end // 4096 * 4096)
        if sync:
            os.fdatasync(fd)
        end += batch
    print(f"190 KB batch, {name}: {(time.perf_counter() - t) / count * 1e6:.0f} µs, "
          f"{(cpu() - c) / count * 1e6:.0f} µs of CPU each")
    os.close(fd)
PY
dev=$(df --output=source "$dir" | tail -1)
base=$(basename "$(realpath "$dev")")
for q in /sys/block/"$base"/queue /sys/class/block/"$base"/../queue; do
  if [ -r "$q/fua" ]; then
    echo "device $base: write cache '$(cat "$q/write_cache")', FUA $(cat "$q/fua")"
    break
  fi
done
