#!/usr/bin/env bash
# Installs the Debian 12 packages that pvd-api needs to build, run and test.
#
# Usage: deploy/local/deps.sh [--check]
#   (no argument)  install whatever is missing (apt-get update + install), else do nothing
#   --check        only list the missing packages; exit 1 when some are missing
#
# Idempotent and fast: when everything is present it runs a single dpkg-query and exits
# (no apt-get update). Runs apt-get as root, or through sudo when not root.
set -euo pipefail

# Debian package names (checked with apt-cache policy on Debian 12 bookworm).
# Notes:
# - the contrib extensions (unaccent, pg_trgm) ship inside postgresql-15 on Debian 12:
#   postgresql-contrib-15 is only a virtual package provided by it, so dpkg-query would
#   always report it missing; it is deliberately not listed.
# - librhonabwy-dev (JWT) is for the coming authentication work: keep it.
readonly PACKAGES=(
	build-essential pkg-config gcc clang clang-format libclang-rt-14-dev
	libulfius-dev libmicrohttpd-dev libyder-dev liborcania-dev libjansson-dev
	libpq-dev libssl-dev libcriterion-dev libcurl4-gnutls-dev libcsv-dev librhonabwy-dev zlib1g-dev
	postgresql-15 postgresql-client-15 pgbouncer
	wrk curl procps iproute2 ca-certificates chromium
)

check_only=false
case "${1:-}" in
"") ;;
--check) check_only=true ;;
-h | --help)
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
	exit 0
	;;
*)
	echo "deps.sh: unknown argument: $1 (usage: deps.sh [--check])" >&2
	exit 2
	;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found: this script supports Debian 12 only" >&2
	exit 1
fi

# Prints the packages of "$@" that are not fully installed, one per line.
missing_packages() {
	local -A installed=()
	local name status
	# One dpkg-query call for the whole list; unknown names go to stderr and are
	# treated as missing. Status is "want error state", e.g. "install ok installed".
	while IFS=$'\t' read -r name status; do
		if [[ "$status" == *" installed" ]]; then
			installed["$name"]=1
		fi
	done < <(dpkg-query -W -f='${Package}\t${Status}\n' "$@" 2>/dev/null || true)
	local p
	for p in "$@"; do
		if [[ -z "${installed[$p]:-}" ]]; then
			printf '%s\n' "$p"
		fi
	done
}

wanted=("${PACKAGES[@]}")
# Node.js + npm: this machine kind may carry a non-Debian nodejs that bundles npm, which
# Debian's npm package conflicts with. Only ask Debian for them when npm is absent
# (on a fresh Debian 12 that gives Node 18 + npm 9).
if ! command -v npm >/dev/null 2>&1; then
	wanted+=(nodejs npm)
fi

mapfile -t missing < <(missing_packages "${wanted[@]}")

if ((${#missing[@]} == 0)); then
	exit 0
fi

if [[ "$check_only" == true ]]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	exit 1
fi

as_root=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		echo "deps.sh: missing packages: ${missing[*]}" >&2
		echo "deps.sh: installing them needs root, and sudo is not available." >&2
		echo "deps.sh: run this script as root, or install them yourself:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
fi

echo "deps.sh: installing missing packages: ${missing[*]}" >&2
# Wait for a concurrent apt/dpkg run instead of failing on its lock.
apt_opts=(-o DPkg::Lock::Timeout=300)
"${as_root[@]}" apt-get "${apt_opts[@]}" update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

mapfile -t still_missing < <(missing_packages "${missing[@]}")
if ((${#still_missing[@]} != 0)); then
	echo "deps.sh: still missing after apt-get install: ${still_missing[*]}" >&2
	exit 1
fi
echo "deps.sh: done" >&2
