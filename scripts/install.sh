#!/bin/sh
# gigastt installer: downloads the executable for this OS/CPU and SHA256SUMS
# from a release, verifies the checksum, installs to ~/.local/bin.
#
#   curl -fsSL https://github.com/gigastt/gigastt/releases/latest/download/install.sh | sh
#   sh install.sh [--prefix DIR] [--bin-dir DIR] [--version X.Y.Z] [--base-url URL]
#
# Environment (flags win):
#   GIGASTT_BASE_URL     where gigastt-<os>-<arch> and SHA256SUMS live
#                        (default https://github.com/$GIGASTT_REPO/releases/latest/download,
#                        or .../releases/download/vX.Y.Z with --version)
#   GIGASTT_REPO         GitHub owner/name (default gigastt/gigastt)
#   GIGASTT_INSTALL_DIR  folder for the executable (default $HOME/.local/bin)
#   GIGASTT_PLATFORM     skip detection, e.g. linux-arm64
#
# Exit status: 0 installed; 1 download, checksum or platform failure; 2 usage.
set -eu

repo=${GIGASTT_REPO:-gigastt/gigastt}
base_url=${GIGASTT_BASE_URL:-}
bin_dir=${GIGASTT_INSTALL_DIR:-}
version=
platform=${GIGASTT_PLATFORM:-}

say() { printf '%s\n' "$*"; }
err() { printf 'gigastt install: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }
help_text() {
  cat <<'EOF'
gigastt installer: downloads the executable for this OS/CPU and SHA256SUMS
from a release, verifies the checksum, installs to ~/.local/bin.

  curl -fsSL https://github.com/gigastt/gigastt/releases/latest/download/install.sh | sh
  sh install.sh [--prefix DIR] [--bin-dir DIR] [--version X.Y.Z] [--base-url URL]
  curl -fsSL .../install.sh | sh -s -- --version X.Y.Z

Environment (flags win):
  GIGASTT_BASE_URL     where gigastt-<os>-<arch> and SHA256SUMS live
                       (default https://github.com/$GIGASTT_REPO/releases/latest/download,
                       or .../releases/download/vX.Y.Z with --version)
  GIGASTT_REPO         GitHub owner/name (default gigastt/gigastt)
  GIGASTT_INSTALL_DIR  folder for the executable (default $HOME/.local/bin)
  GIGASTT_PLATFORM     skip detection, e.g. linux-arm64

Exit status: 0 installed (or --help); 1 download, checksum or platform failure; 2 usage.
EOF
}
# --help: the text on stdout, exit 0; a usage error: the text on stderr, exit 2
# (the text is in the script itself, so it works piped through `sh -s -- --help` too)
usage() {
  help_text >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || usage; bin_dir=$2/bin; shift 2 ;;
    --prefix=*) bin_dir=${1#--prefix=}/bin; shift ;;
    --bin-dir) [ $# -ge 2 ] || usage; bin_dir=$2; shift 2 ;;
    --bin-dir=*) bin_dir=${1#--bin-dir=}; shift ;;
    --version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
    --version=*) version=${1#--version=}; shift ;;
    --base-url) [ $# -ge 2 ] || usage; base_url=$2; shift 2 ;;
    --base-url=*) base_url=${1#--base-url=}; shift ;;
    -h|--help) help_text; exit 0 ;;
    *) err "unknown option '$1'"; usage ;;
  esac
done

if [ -z "$base_url" ]; then
  if [ -n "$version" ]; then
    base_url="https://github.com/$repo/releases/download/v${version#v}"
  else
    base_url="https://github.com/$repo/releases/latest/download"
  fi
fi
base_url=${base_url%/}

if [ -z "$bin_dir" ]; then
  [ -n "${HOME:-}" ] || die "HOME is not set: pass --bin-dir DIR or set GIGASTT_INSTALL_DIR"
  bin_dir=$HOME/.local/bin
fi

detect_platform() {
  os=$(uname -s)
  case $os in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported operating system '$os' (builds exist for Linux and macOS)" ;;
  esac
  arch=$(uname -m)
  case $arch in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "unsupported CPU '$arch' (builds exist for x86_64 and arm64)" ;;
  esac
  # an x86_64 shell under Rosetta on Apple silicon: take the native build
  if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
    arch=arm64
  fi
  printf '%s-%s\n' "$os" "$arch"
}

if [ -z "$platform" ]; then
  platform=$(detect_platform) || exit 1
fi
case $platform in
  linux-x64|linux-arm64|darwin-x64|darwin-arm64) ;;
  *) die "unknown platform '$platform'" ;;
esac
asset=gigastt-$platform

fetch() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto '=http,https' --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    die "neither curl nor wget is installed"
  fi
}

sha256() { # FILE -> hex
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 "$1" | sed 's/^.*= *//'
  else
    die "no SHA-256 tool (sha256sum, shasum or openssl) found"
  fi
}

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t gigastt)
trap 'rm -rf "$tmp"' EXIT INT TERM

say "gigastt: $platform from $base_url"
fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base_url/SHA256SUMS"
expected=$(awk -v f="$asset" '($2 == f || $2 == "*" f) && length($1) == 64 { print $1; exit }' "$tmp/SHA256SUMS")
if [ -z "$expected" ]; then
  die "this release has no build for $platform (SHA256SUMS does not list $asset)"
fi
fetch "$base_url/$asset" "$tmp/$asset" || die "could not download $base_url/$asset"
actual=$(sha256 "$tmp/$asset")
if [ "$actual" != "$expected" ]; then
  rm -f "$tmp/$asset"
  die "checksum mismatch for $asset: expected $expected, got $actual; the download was deleted, nothing was installed"
fi

mkdir -p "$bin_dir" || die "cannot create $bin_dir"
dest=$bin_dir/gigastt
cp "$tmp/$asset" "$bin_dir/.gigastt.$$" || die "cannot write to $bin_dir"
chmod 755 "$bin_dir/.gigastt.$$"
mv -f "$bin_dir/.gigastt.$$" "$dest" || { rm -f "$bin_dir/.gigastt.$$"; die "cannot install $dest"; }
if [ "${platform%%-*}" = darwin ] && command -v xattr >/dev/null 2>&1; then
  xattr -d com.apple.quarantine "$dest" 2>/dev/null || true
fi
say "installed $dest (sha256 $actual)"

if installed=$("$dest" --version 2>/dev/null); then
  say "gigastt $installed"
else
  err "warning: $dest --version did not run on this machine"
fi

case ":${PATH:-}:" in
  *":$bin_dir:"*) cmd=gigastt ;;
  *)
    cmd=$dest
    say ""
    say "$bin_dir is not on your PATH; add it with:"
    say "  export PATH=\"$bin_dir:\$PATH\""
    ;;
esac
say ""
say "next: $cmd serve    (downloads the GigaAM v3 model on first start, then listens on http://127.0.0.1:9876)"
