#!/usr/bin/env bash
# Install voicecoach as a headless service on a Raspberry Pi (Raspberry Pi OS /
# Debian 12 or later, Python 3.11+), from this source checkout:
#
#   sudo scripts/install-pi.sh                    apt packages, venv, package, model
#                                                 (downloaded), config, systemd unit
#   sudo scripts/install-pi.sh --model FILE       install the model from FILE (.zip,
#                                                 .aar, .tar.gz or a directory) instead
#   sudo scripts/install-pi.sh --dry-run          print what it would do, change nothing
#   sudo scripts/install-pi.sh --uninstall        stop and remove the service and the
#                                                 app; keep config, history and model
#   sudo scripts/install-pi.sh --uninstall --purge   also remove those and the user
#   sudo scripts/install-pi.sh --web              also the read-only progress page as a
#                                                 second unit, voicecoach-web.service
#                                                 (docs/web.md)
#   scripts/install-pi.sh --root DIR ...          install under DIR (an image being
#                                                 built, or a scratch dir for tests):
#                                                 no apt, no user, no service start
#
# Other options: --no-model (skip the model), --python PY (interpreter for the
# venv), --system-site-packages (let the venv use Debian's python3-numpy etc.).
#
# Idempotent: each step checks first and changes only what differs, so a second
# run changes nothing (an edited config is never overwritten). Every line it
# prints starts with "install-pi:"; "ok" lines are steps that were already done.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

SERVICE_USER=voicecoach
APP_DIR=/opt/voicecoach
VENV=$APP_DIR/venv
CONFIG=/etc/voicecoach/config.toml
DATA_DIR=/var/lib/voicecoach
CACHE_DIR=/var/cache/voicecoach
UNIT=/etc/systemd/system/voicecoach.service
WEB_UNIT=/etc/systemd/system/voicecoach-web.service
# libatomic1: vosk's aarch64 wheel links it and a minimal arm64 Debian lacks it
# (found by scripts/check-arm64: "import vosk" failed without it).
APT_PACKAGES=(python3 python3-venv python3-pip espeak-ng libespeak-ng1 libportaudio2 alsa-utils libatomic1)

ROOT=""
DRY=false
MODEL_FILE=""
WANT_MODEL=true
UNINSTALL=false
PURGE=false
PY=python3
SYSTEM_SITE=false
WEB=false

say() { printf 'install-pi: %s\n' "$*"; }
die() { printf 'install-pi: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while (($#)); do
    case "$1" in
        --dry-run) DRY=true ;;
        --root) [[ $# -ge 2 ]] || die "--root needs a directory"; ROOT=$(realpath -m "$2"); shift ;;
        --root=*) ROOT=$(realpath -m "${1#*=}") ;;
        --model) [[ $# -ge 2 ]] || die "--model needs a file or directory"; MODEL_FILE=$2; shift ;;
        --model=*) MODEL_FILE=${1#*=} ;;
        --no-model) WANT_MODEL=false ;;
        --uninstall) UNINSTALL=true ;;
        --purge) PURGE=true ;;
        --python) [[ $# -ge 2 ]] || die "--python needs an interpreter"; PY=$2; shift ;;
        --system-site-packages) SYSTEM_SITE=true ;;
        --web) WEB=true ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ -n "$MODEL_FILE" && ! -e "$MODEL_FILE" ]] && die "$MODEL_FILE: no such file or directory"
[[ -n "$MODEL_FILE" ]] && MODEL_FILE=$(realpath "$MODEL_FILE")
$PURGE && ! $UNINSTALL && die "--purge goes with --uninstall"
if [[ -z "$ROOT" && $(id -u) -ne 0 ]] && ! $DRY; then
    die "run as root (sudo $0 $*), or use --dry-run or --root DIR"
fi
[[ "$ROOT" == "/" ]] && ROOT=""

# A path as seen from here (under --root) rather than on the installed system.
r() { printf '%s%s' "$ROOT" "$1"; }

# Run a command that changes something, or say what it would be.
run() {
    if $DRY; then
        say "would run: $*"
    else
        "$@"
    fi
}

have_systemd() { [[ -z "$ROOT" && -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

# A chroot or an image being built: no systemd to ask, so enable a unit as
# systemctl enable would (its multi-user.target.wants link), so it starts at boot.
WANTS=/etc/systemd/system/multi-user.target.wants
enable_by_link() {
    if [[ -L "$(r "$WANTS/$1")" ]]; then
        say "ok: $1 enabled"
    else
        run mkdir -p "$(r "$WANTS")"
        run ln -sf "/etc/systemd/system/$1" "$(r "$WANTS/$1")"
        say "enabled $1 (starts at boot)"
    fi
}

# Write stdin to $1 (mode $2) only if the content differs; returns 0 if it changed.
put_file() {
    local dest=$1 mode=$2 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [[ -f "$dest" ]] && cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
        return 1
    fi
    if $DRY; then
        say "would write $dest:"
        sed 's/^/    | /' "$tmp"
        rm -f "$tmp"
    else
        mkdir -p "$(dirname "$dest")"
        install -m "$mode" "$tmp" "$dest"
        rm -f "$tmp"
    fi
    return 0
}

render_unit() {
    local template=${1:-voicecoach.service}
    sed -e "s|@APP_DIR@|$APP_DIR|g" -e "s|@VENV@|$VENV|g" -e "s|@CONFIG@|$CONFIG|g" \
        -e "s|@USER@|$SERVICE_USER|g" -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@CACHE_DIR@|$CACHE_DIR|g" \
        "$SRC/scripts/$template"
}

# The files of the source that make the installed app, and a hash of them.
source_files() {
    local parts=() p
    for p in pyproject.toml README.md voicecoach grammars docs scripts/voicecoach.service scripts/voicecoach-web.service; do
        [[ -e "$SRC/$p" ]] && parts+=("$p")
    done
    (cd "$SRC" && find "${parts[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' | LC_ALL=C sort)
}
source_stamp() { (cd "$SRC" && source_files | xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1); }

# ------------------------------------------------------------------- uninstall
uninstall() {
    if [[ -e "$(r "$WEB_UNIT")" ]]; then
        if have_systemd; then
            systemctl is-enabled --quiet voicecoach-web.service 2>/dev/null && run systemctl disable voicecoach-web.service
            systemctl is-active --quiet voicecoach-web.service 2>/dev/null && run systemctl stop voicecoach-web.service
        elif [[ -n "$ROOT" ]] && command -v systemctl >/dev/null \
            && systemctl --root="$ROOT" is-enabled --quiet voicecoach-web.service 2>/dev/null; then
            run systemctl --root="$ROOT" --quiet disable voicecoach-web.service
        fi
        run rm -f "$(r "$WEB_UNIT")"
    fi
    # Links enable_by_link made where systemctl was not there to disable them.
    for u in voicecoach-web.service voicecoach.service; do
        [[ -L "$(r "$WANTS/$u")" ]] && run rm -f "$(r "$WANTS/$u")"
    done
    if have_systemd; then
        systemctl is-enabled --quiet voicecoach.service 2>/dev/null && run systemctl disable voicecoach.service
        systemctl is-active --quiet voicecoach.service 2>/dev/null && run systemctl stop voicecoach.service
    elif [[ -n "$ROOT" && -e "$(r "$UNIT")" ]] && command -v systemctl >/dev/null \
        && systemctl --root="$ROOT" is-enabled --quiet voicecoach.service 2>/dev/null; then
        run systemctl --root="$ROOT" --quiet disable voicecoach.service
    fi
    if [[ -e "$(r "$UNIT")" ]]; then
        run rm -f "$(r "$UNIT")"
        have_systemd && run systemctl daemon-reload
    else
        say "ok: no unit at $UNIT"
    fi
    if [[ -e "$(r "$APP_DIR")" ]]; then run rm -rf "$(r "$APP_DIR")"; else say "ok: no $APP_DIR"; fi
    if $PURGE; then
        for d in "$(dirname "$CONFIG")" "$DATA_DIR" "$CACHE_DIR"; do
            if [[ -e "$(r "$d")" ]]; then run rm -rf "$(r "$d")"; else say "ok: no $d"; fi
        done
        if [[ -z "$ROOT" ]] && id -u "$SERVICE_USER" >/dev/null 2>&1; then
            run userdel "$SERVICE_USER"
        fi
    else
        say "kept $CONFIG, $DATA_DIR (history, model) and $CACHE_DIR; --purge removes them"
    fi
    say "uninstalled"
}

if $UNINSTALL; then
    uninstall
    exit 0
fi

# ---------------------------------------------------------------- 1. packages
if [[ -n "$ROOT" ]]; then
    say "skipped apt packages under --root (they are the host's): ${APT_PACKAGES[*]}"
else
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        say "installing apt packages: ${missing[*]}"
        run apt-get update -qq
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        say "ok: apt packages ${APT_PACKAGES[*]}"
    fi
fi

# ------------------------------------------------------------------- 2. user
if [[ -n "$ROOT" ]]; then
    say "skipped creating system user $SERVICE_USER (group audio) under --root"
elif ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    say "creating system user $SERVICE_USER in group audio"
    run useradd --system --user-group --groups audio --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "voicecoach service" "$SERVICE_USER"
elif ! id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx audio; then
    say "adding $SERVICE_USER to group audio"
    run usermod -aG audio "$SERVICE_USER"
else
    say "ok: user $SERVICE_USER in group audio"
fi

# ------------------------------------------------------------ 3. directories
for d in "$APP_DIR" "$(dirname "$CONFIG")" "$DATA_DIR" "$CACHE_DIR"; do
    [[ -d "$(r "$d")" ]] || run mkdir -p "$(r "$d")"
done
if [[ -z "$ROOT" ]] && id -u "$SERVICE_USER" >/dev/null 2>&1; then
    for d in "$DATA_DIR" "$CACHE_DIR"; do
        [[ -d "$d" && "$(stat -c %U "$d")" != "$SERVICE_USER" ]] && run chown -R "$SERVICE_USER:$SERVICE_USER" "$d"
    done
fi

# ---------------------------------------------------- 4. virtualenv + package
venv_py=$(r "$VENV")/bin/python
if [[ -x "$venv_py" ]]; then
    say "ok: virtualenv $VENV"
else
    say "creating virtualenv $VENV"
    opts=()
    $SYSTEM_SITE && opts+=(--system-site-packages)
    run "$PY" -m venv "${opts[@]}" "$(r "$VENV")"
fi

stamp=$(source_stamp)
stamp_file=$(r "$APP_DIR")/.source-sha256
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    say "ok: voicecoach installed from this source ($APP_DIR/src)"
    package_changed=false
else
    say "installing voicecoach from $SRC into $APP_DIR/src and $VENV"
    # The app runs from its own copy of the source (the grammars live beside the
    # package), so the checkout may be removed after installing.
    run rm -rf "$(r "$APP_DIR")/src"
    if $DRY; then
        say "would copy $(source_files | wc -l) files to $APP_DIR/src"
    else
        mkdir -p "$(r "$APP_DIR")/src"
        (cd "$SRC" && source_files | tar -cf - -T -) | tar -xf - -C "$(r "$APP_DIR")/src"
    fi
    deps=$(PYTHONPATH= "$PY" - "$SRC/pyproject.toml" <<'PYEOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project.get("optional-dependencies", {}).get("aec", [])))
PYEOF
)
    mapfile -t deps <<<"$deps"
    run "$venv_py" -m pip install -q --disable-pip-version-check --no-input "${deps[@]}"
    # Put the copied source on the venv's path (what an editable install does,
    # without needing a build backend on the Pi) and add the console script.
    site=$($DRY && echo "<venv site-packages>" || "$venv_py" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    printf '%s\n' "$(r "$APP_DIR")/src" | put_file "$site/voicecoach-src.pth" 0644 || true
    printf '#!%s\nfrom voicecoach.cli import entry\nentry()\n' "$venv_py" \
        | put_file "$(r "$VENV")/bin/voicecoach" 0755 || true
    $DRY || printf '%s\n' "$stamp" >"$stamp_file"
    package_changed=true
fi

# Run the installed voicecoach as the service will see its files.
vc() {
    env -u VOICECOACH_MODEL VOICECOACH_DATA="$(r "$DATA_DIR")" VOICECOACH_CACHE="$(r "$CACHE_DIR")" \
        VOICECOACH_CONFIG="$(r "$CONFIG")" "$(r "$VENV")/bin/voicecoach" "$@"
}

# ----------------------------------------------------------------- 5. model
if ! $WANT_MODEL; then
    say "skipped the model (--no-model)"
elif [[ -x "$(r "$VENV")/bin/voicecoach" ]] && vc model status >/dev/null 2>&1; then
    say "ok: model installed ($(vc model status | tail -n 1))"
elif [[ -n "$MODEL_FILE" ]]; then
    say "installing the model from $MODEL_FILE"
    if $DRY; then say "would run: voicecoach model install $MODEL_FILE"; else vc model install "$MODEL_FILE"; fi
else
    say "downloading the model"
    if $DRY; then say "would run: voicecoach model fetch"; else vc model fetch --quiet; fi
fi
if [[ -z "$ROOT" ]] && ! $DRY && id -u "$SERVICE_USER" >/dev/null 2>&1 \
    && [[ -n "$(find "$DATA_DIR" "$CACHE_DIR" ! -user "$SERVICE_USER" -print -quit 2>/dev/null)" ]]; then
    chown -R "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR" "$CACHE_DIR"
fi

# ----------------------------------------------------------------- 6. config
if [[ -e "$(r "$CONFIG")" ]]; then
    say "ok: config $CONFIG (kept as it is)"
    if [[ -x "$venv_py" ]] && ! "$venv_py" -c 'import sys; from voicecoach import config; config.load(sys.argv[1])' \
        "$(r "$CONFIG")" 2>/dev/null; then
        say "warning: $CONFIG does not load; run: voicecoach doctor"
    fi
else
    say "writing config $CONFIG (every key at its default)"
    if [[ -x "$venv_py" ]]; then
        "$venv_py" -m voicecoach.service config-template | put_file "$(r "$CONFIG")" 0644 || true
    else
        PYTHONPATH="$SRC" "$PY" -m voicecoach.service config-template | put_file "$(r "$CONFIG")" 0644 || true
    fi
fi

# ---------------------------------------------------------- 7. systemd unit
if render_unit | put_file "$(r "$UNIT")" 0644; then
    say "installed unit $UNIT"
    unit_changed=true
else
    say "ok: unit $UNIT"
    unit_changed=false
fi
if [[ -n "$ROOT" ]]; then
    if command -v systemctl >/dev/null; then
        if systemctl --root="$ROOT" is-enabled --quiet voicecoach.service 2>/dev/null; then
            say "ok: voicecoach.service enabled in $ROOT"
        else
            run systemctl --root="$ROOT" --quiet enable voicecoach.service
        fi
    else
        enable_by_link voicecoach.service
    fi
    say "done under $ROOT (nothing started)"
elif have_systemd; then
    $unit_changed && run systemctl daemon-reload
    if systemctl is-enabled --quiet voicecoach.service 2>/dev/null; then
        say "ok: voicecoach.service enabled"
    else
        run systemctl enable voicecoach.service
    fi
    if $unit_changed || $package_changed; then
        run systemctl restart voicecoach.service
    elif systemctl is-active --quiet voicecoach.service; then
        say "ok: voicecoach.service running"
    else
        run systemctl start voicecoach.service
    fi
    say "done; say \"start workout\". Logs: journalctl -u voicecoach -f; checks: sudo -u $SERVICE_USER $VENV/bin/voicecoach doctor"
else
    enable_by_link voicecoach.service
    say "systemd is not running here: the unit is installed and enabled but not started"
fi

# ------------------------------------------------- 8. the web page (optional)
if $WEB; then
    if render_unit voicecoach-web.service | put_file "$(r "$WEB_UNIT")" 0644; then
        say "installed unit $WEB_UNIT"
        web_changed=true
    else
        say "ok: unit $WEB_UNIT"
        web_changed=false
    fi
    if [[ -n "$ROOT" ]]; then
        if ! command -v systemctl >/dev/null; then
            enable_by_link voicecoach-web.service
        elif ! systemctl --root="$ROOT" is-enabled --quiet voicecoach-web.service 2>/dev/null; then
            run systemctl --root="$ROOT" --quiet enable voicecoach-web.service
        fi
    elif have_systemd; then
        $web_changed && run systemctl daemon-reload
        systemctl is-enabled --quiet voicecoach-web.service 2>/dev/null || run systemctl enable voicecoach-web.service
        if $web_changed || $package_changed; then run systemctl restart voicecoach-web.service; fi
        say "web page: journalctl -u voicecoach-web prints its address; [web] host in $CONFIG opens it to the network"
    else
        enable_by_link voicecoach-web.service
    fi
fi
