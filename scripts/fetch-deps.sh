#!/usr/bin/env bash
# Fetch the third-party sources zsock builds (lwIP, BearSSL) from Debian
# source packages and unpack them where the Meson wraps expect them.
#
#   scripts/fetch-deps.sh [SUBPROJECTS_DIR]
#
# SUBPROJECTS_DIR defaults to this repository's subprojects/. The result is
#   SUBPROJECTS_DIR/lwip-2.1.3     Debian's lwip source, Debian patches applied
#   SUBPROJECTS_DIR/bearssl-0.6    Debian's bearssl source
# each with the meson.build overlay from subprojects/packagefiles/<name>/.
#
# When the trees are already there (stamp file present) the script only
# refreshes the overlays and exits; nothing needs root then. Otherwise it
# needs root (or sudo) to add deb-src entries and run apt-get.
#
# deb-src entries are derived from the machine's own enabled Debian "deb"
# entries (whatever mirror they name); no archive host is written down here.
set -euo pipefail

# name  upstream-version
DEPS=(
  "lwip 2.1.3"
  "bearssl 0.6"
)

STAMP=.zsock-fetched
SRC_LIST_NAME=zsock-deb-src     # .sources and/or .list in apt's sources.list.d

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACKAGEFILES=$REPO_ROOT/subprojects/packagefiles
SUBPROJECTS_DIR=${1:-$REPO_ROOT/subprojects}

log() { printf 'fetch-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -le 1 ] || die "usage: $0 [SUBPROJECTS_DIR]"
mkdir -p "$SUBPROJECTS_DIR"
SUBPROJECTS_DIR=$(cd "$SUBPROJECTS_DIR" && pwd)

# Copy packagefiles/<name>/ over the unpacked tree (only files that differ).
apply_overlay() {
  local name=$1 dest=$2 src f rel
  src=$PACKAGEFILES/$name
  [ -d "$src" ] || die "missing overlay directory $src"
  while IFS= read -r -d '' f; do
    rel=${f#"$src"/}
    if ! cmp -s "$f" "$dest/$rel"; then
      mkdir -p "$(dirname "$dest/$rel")"
      cp "$f" "$dest/$rel"
    fi
  done < <(find "$src" -type f -print0)
}

# Apply packagefiles/<name>-patches/*.patch (zsock's own fixes to the
# third-party trees, each explained in its header). Idempotent: a patch that
# is already in is recognised by a reverse dry run and skipped.
apply_patches() {
  local name=$1 dest=$2 p
  for p in "$PACKAGEFILES/$name-patches"/*.patch; do
    [ -e "$p" ] || continue
    if patch -p1 -N -s --dry-run -d "$dest" <"$p" >/dev/null 2>&1; then
      patch -p1 -N -s -d "$dest" <"$p" || die "$name: applying $(basename "$p") failed"
      log "$name: applied $(basename "$p")"
    elif ! patch -p1 -R -s --dry-run -d "$dest" <"$p" >/dev/null 2>&1; then
      die "$name: $(basename "$p") neither applies nor is already applied"
    fi
  done
}

# ---- fast path: everything already unpacked ---------------------------------
missing=()
for dep in "${DEPS[@]}"; do
  read -r name ver <<<"$dep"
  dest=$SUBPROJECTS_DIR/$name-$ver
  if [ -f "$dest/$STAMP" ]; then
    apply_overlay "$name" "$dest"
    apply_patches "$name" "$dest"
  else
    missing+=("$dep")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  log "up to date in $SUBPROJECTS_DIR"
  exit 0
fi

# ---- slow path: needs apt -------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "needs root (or sudo) for: $*"
  fi
}

apt_update() {
  # A broken third-party repository must not stop us; whether the sources we
  # need became visible is checked afterwards.
  as_root apt-get update -qq || log "warning: apt-get update reported errors"
}

# dpkg-source (from dpkg-dev) unpacks what apt-get source downloads.
if ! dpkg-query -W -f='${Status}\n' dpkg-dev 2>/dev/null | grep -q 'ok installed'; then
  log "installing dpkg-dev"
  apt_update
  as_root apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
fi

# Upstream part of a Debian version: no epoch, no revision, no +dfsg/+ds/~ suffix.
upstream_of() {
  local v=${1#*:}
  v=${v%-*}
  v=${v%%+*}
  v=${v%%~*}
  printf '%s\n' "$v"
}

# Highest source version of package $1 whose upstream part is $2 (empty if none).
pick_version() {
  local pkg=$1 want=$2 v best=
  while read -r v; do
    [ "$(upstream_of "$v")" = "$want" ] || continue
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
      best=$v
    fi
  done < <(apt-cache showsrc --only-source "$pkg" 2>/dev/null |
           sed -n 's/^Version: //p')
  printf '%s\n' "$best"
}

all_sources_visible() {
  local dep name ver
  for dep in "${missing[@]}"; do
    read -r name ver <<<"$dep"
    [ -n "$(pick_version "$name" "$ver")" ] || return 1
  done
}

# Print stanza number $2 (1-based, counting paragraphs that hold a field) of
# deb822 file $1 with its Types: line changed to deb-src.
deb822_stanza_as_src() {
  awk -v want="$2" '
    function flush() {
      if (has_field && ++n == want) { printf "%s", buf; found = 1 }
      buf = ""; has_field = 0
    }
    /^[ \t]*$/ { flush(); next }
    {
      if ($0 !~ /^#/) has_field = 1
      if (tolower($0) ~ /^types:/) $0 = "Types: deb-src"
      buf = buf $0 "\n"
    }
    END { flush(); exit !found }
  ' "$1"
}

# Print line $2 of one-line-style file $1 with its leading "deb" made "deb-src".
oneline_as_src() {
  sed -n "${2}{s/^[[:space:]]*deb[[:space:]]/deb-src /p;q}" "$1"
}

# Write zsock-deb-src.{sources,list} mirroring the enabled Debian deb entries
# that have no deb-src counterpart yet. Entries are found through
# `apt-get indextargets`, which reports only active sources (so files apt
# ignores, like *.disabled*, never count) and the Origin of each repository's
# Release file (so a Debian mirror is recognised whatever its host name).
configure_deb_src() {
  local parts='' own_sources own_list
  eval "$(apt-config shell parts Dir::Etc::sourceparts/d)"
  [ -n "$parts" ] || die "cannot find apt's sources.list.d"
  parts=${parts%/}
  own_sources=$parts/$SRC_LIST_NAME.sources
  own_list=$parts/$SRC_LIST_NAME.list
  local targets have entries entry file idx tmp_sources tmp_list pair new dst

  # shellcheck disable=SC2016  # $(...) here is apt's format syntax
  targets=$(apt-get indextargets --format \
    '$(TARGET_OF)|$(REPO_URI)|$(RELEASE)|$(COMPONENT)|$(ORIGIN)|$(SOURCESENTRY)')

  # Repositories that already provide sources through other entries.
  have=$(awk -F'|' -v a="$own_sources:" -v b="$own_list:" '
    $1 == "deb-src" && index($6, a) != 1 && index($6, b) != 1 {
      print $2 "|" $3 "|" $4 }' <<<"$targets" | sort -u)

  # Entries (file:index) behind Debian deb targets with no deb-src twin.
  entries=$(awk -F'|' -v have="$have" '
    BEGIN { n = split(have, h, "\n"); for (i = 1; i <= n; i++) got[h[i]] = 1 }
    $1 == "deb" && $5 ~ /^Debian/ && !(($2 "|" $3 "|" $4) in got) { print $6 }
  ' <<<"$targets" | sort -u)

  if [ -z "$entries" ] && [ -z "$have" ]; then
    die "no enabled Debian 'deb' entries found to derive deb-src entries from"
  fi

  tmp_sources=$(mktemp)
  tmp_list=$(mktemp)
  for entry in $entries; do
    file=${entry%:*}
    idx=${entry##*:}
    case $file in
      *.sources)
        deb822_stanza_as_src "$file" "$idx" >>"$tmp_sources" ||
          die "cannot read stanza $idx of $file"
        echo >>"$tmp_sources" ;;
      *)
        oneline_as_src "$file" "$idx" >>"$tmp_list" ;;
    esac
  done

  for pair in "$tmp_sources|$own_sources" "$tmp_list|$own_list"; do
    new=${pair%%|*}
    dst=${pair#*|}
    if [ -s "$new" ]; then
      sed -i '1i # Written by zsock scripts/fetch-deps.sh from the deb entries of this machine.' "$new"
      if ! cmp -s "$new" "$dst"; then
        log "writing $dst"
        as_root install -m 644 "$new" "$dst"
      fi
    elif [ -e "$dst" ]; then
      # Other entries provide these sources now; ours would duplicate them.
      log "removing redundant $dst"
      as_root rm -f "$dst"
    fi
  done
  rm -f "$tmp_sources" "$tmp_list"
}

if ! all_sources_visible; then
  # Release files tell Debian repositories apart; make sure they are present.
  # shellcheck disable=SC2016
  if ! apt-get indextargets --format '$(ORIGIN)' 'Created-By: Packages' | grep -q .; then
    apt_update
  fi
  configure_deb_src
  apt_update
  all_sources_visible || die "apt cannot see the needed source packages (${missing[*]}); check the deb-src entries"
fi

# ---- download and unpack -----------------------------------------------------
work=$(mktemp -d "$SUBPROJECTS_DIR/.fetch-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT

for dep in "${missing[@]}"; do
  read -r name ver <<<"$dep"
  dest=$SUBPROJECTS_DIR/$name-$ver
  debver=$(pick_version "$name" "$ver")
  log "fetching Debian source $name=$debver"
  mkdir "$work/$name"
  # Let apt's download sandbox user write there (else apt only warns that it
  # downloads unsandboxed as root, which is harmless).
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
    chmod 711 "$work"
    chown _apt "$work/$name"
  fi
  (cd "$work/$name" && apt-get source -qq --only-source "$name=$debver" >/dev/null) ||
    die "apt-get source $name=$debver failed"

  tree=$(find "$work/$name" -mindepth 1 -maxdepth 1 -type d)
  if [ -z "$tree" ] || [ "$(wc -l <<<"$tree")" -ne 1 ]; then
    die "unexpected apt-get source result in $work/$name"
  fi
  got=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
  [ "$(upstream_of "$got")" = "$ver" ] ||
    die "$name: unpacked version $got is not upstream $ver"

  if [ -e "$dest" ]; then
    log "replacing $dest (no $STAMP: incomplete earlier run?)"
    rm -rf "$dest"
  fi
  mv "$tree" "$dest"
  apply_overlay "$name" "$dest"
  apply_patches "$name" "$dest"
  printf '%s\n' "$got" >"$dest/$STAMP"
  log "$name $got -> $dest"
done
