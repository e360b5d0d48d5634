#!/usr/bin/env bash
# Checks, in a few seconds and before anything is installed, that this machine can run the local
# three-node cluster (`make demo`, `make test`): root, the biodiversity data the mirror serves,
# memory, disk, and a kernel that runs systemd containers. Prints every problem with what to do,
# then exits 1; prints one line and exits 0 when all is well.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${ZOOTOPIA_DATA_DIR:-$(dirname "$root")/shared/data/biodiversity}
# The three nodes take 6 GiB each (local_cluster_node_memory), the controller needs the rest.
min_memory_gib=${ZOOTOPIA_MIN_MEMORY_GIB:-20}
# The node image, three nodes' artifacts and data, Docker's layers, the artifact cache and .venv.
min_disk_gib=${ZOOTOPIA_MIN_DISK_GIB:-20}

problems=()
problem() { problems+=("$1"); }

[ "$(id -u)" -eq 0 ] || problem "run as root: the local cluster needs the Docker engine and debootstrap (sudo make ...)"

if [ ! -f "$data/README.md" ]; then
  problem "the biodiversity data is not at $data: set ZOOTOPIA_DATA_DIR to the folder that holds the recorded GBIF, OBIS and iDigBio files (with their README.md)"
fi

memory_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
if [ "$((memory_kib / 1024 / 1024))" -lt "$((min_memory_gib - 1))" ]; then
  problem "$((memory_kib / 1024 / 1024)) GiB of memory: the three nodes need ${min_memory_gib} GiB (ZOOTOPIA_MIN_MEMORY_GIB overrides this check)"
fi

# Docker keeps its images and containers under /var/lib/docker; the caches live in $HOME.
for dir in /var/lib "${HOME:-/root}"; do
  free_kib=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 {print $4}')
  if [ -n "$free_kib" ] && [ "$((free_kib / 1024 / 1024))" -lt "$min_disk_gib" ]; then
    problem "$((free_kib / 1024 / 1024)) GiB free under $dir: the cluster needs ${min_disk_gib} GiB (ZOOTOPIA_MIN_DISK_GIB overrides this check)"
  fi
done

# systemd in a container needs a cgroup hierarchy to mount read-only and network namespaces.
cgroup_fs=$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || true)
case "$cgroup_fs" in
  cgroup2fs | tmpfs) ;;
  *) problem "no cgroup file system at /sys/fs/cgroup (found '${cgroup_fs:-nothing}'): the nodes are systemd containers and need one" ;;
esac
if ! unshare --net true 2>/dev/null; then
  problem "this kernel or sandbox refuses new network namespaces: Docker cannot run the nodes here"
fi

if [ ${#problems[@]} -gt 0 ]; then
  printf 'preflight: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "preflight: ok (data at $data, $((memory_kib / 1024 / 1024)) GiB of memory)"
