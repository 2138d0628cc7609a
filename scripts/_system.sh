# shellcheck shell=bash
# Sourced by the scripts: `require_system NEED...` checks the machine before anything else is done.
# NEEDs: python (3.11+), venv (python3-venv), pdf (Pango, HarfBuzz-subset, a font: WeasyPrint), postgresql
# (the server, for CI), chromium (the browser tests), dovecot (the mailbox tests' IMAP server).
# What is missing is named plainly; as root with apt-get (Debian, CI) it is installed, otherwise the script stops
# with the command that installs it.

_has_library() {  # the dynamic loader knows this soname (awk reads it all: `grep -q` would end the pipe early)
  PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | awk -v lib="$1" '$1 == lib { found = 1 } END { exit !found }'
}

missing_debian_packages() {  # the Debian packages that the NEEDs lack, one a line
  local need
  for need in "$@"; do
    case "$need" in
      python) ;;  # checked by require_system: no package can replace the system's python3
      venv) "${PYTHON:-python3}" -m ensurepip --version >/dev/null 2>&1 || echo python3-venv ;;
      pdf)
        _has_library libpango-1.0.so.0 || echo libpango-1.0-0
        _has_library libpangoft2-1.0.so.0 || echo libpangoft2-1.0-0
        _has_library libharfbuzz-subset.so.0 || echo libharfbuzz-subset0
        [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || echo fonts-dejavu-core
        ;;
      postgresql) command -v pg_ctlcluster >/dev/null 2>&1 || echo postgresql ;;
      chromium) [ -x /usr/bin/chromium ] || echo chromium ;;
      dovecot) [ -x /usr/sbin/dovecot ] || echo dovecot-imapd ;;
      *) echo "require_system: unknown need '$need'" >&2; return 2 ;;
    esac
  done
}

require_system() {
  if ! "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Carnet needs Python 3.11 or newer (${PYTHON:-python3}): found $("${PYTHON:-python3}" --version 2>&1 || echo none)" >&2
    exit 1
  fi
  local missing
  mapfile -t missing < <(missing_debian_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them (Debian, Ubuntu), then run this again: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing the missing system packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  mapfile -t missing < <(missing_debian_packages "$@")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "still missing after apt-get install: ${missing[*]}" >&2
    exit 1
  fi
}
