# Shared by bench/run.sh, bench/scale.sh and bench/live.sh (sourced, after they define log()
# and ROOT).

# need_packages CMD=PACKAGE...: installs the Debian packages of the commands (or, for an
# absolute path, the files) that are missing; needs root only when something is missing.
need_packages() {
  local missing=() spec c
  for spec in "$@"; do
    c=${spec%%=*}
    if [[ $c == /* ]]; then [ -e "$c" ] || missing+=("${spec#*=}")
    else command -v "$c" >/dev/null 2>&1 || missing+=("${spec#*=}"); fi
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || { log "missing packages (${missing[*]}): run as root once to install them"; exit 1; }
  log "installing: ${missing[*]}"
  apt-get update -qq
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# find_cargo ROOT: puts cargo on PATH (also when run with sudo from a user's rustup) and sets
# TGT, the absolute cargo target directory (CARGO_TARGET_DIR, default ROOT/target).
find_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    for d in "$HOME/.cargo/bin" "/root/.cargo/bin" ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin"}; do
      if [ -x "$d/cargo" ]; then PATH=$d:$PATH; break; fi
    done
  fi
  command -v cargo >/dev/null 2>&1 || { log "cargo not found"; exit 1; }
  TGT=${CARGO_TARGET_DIR:-$1/target}
  case $TGT in /*) ;; *) TGT=$1/$TGT ;; esac
}

# rel PATH: PATH relative to the repository (ROOT) when it is inside it.
rel() { case $1 in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }

# median: the median of the numbers on standard input, one a line (middle value, or mean of
# the two middle ones; nan when there are none).
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# machine: "N cores, CPU model, memory; kernel version", for the header of a result.
machine() {
  local cpu
  cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
  [ -n "$cpu" ] || cpu=$(lscpu 2>/dev/null | awk -F': *' '/Model name/ {print $2; exit}')
  echo "$(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); kernel $(uname -r)"
}
