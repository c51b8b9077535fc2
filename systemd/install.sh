#!/usr/bin/env bash
# office360 installer for Raspberry Pi OS Bookworm (64-bit) and Debian 12.
#
#   sudo systemd/install.sh hub|kiosk|display [--uninstall] [--dry-run] [--root DIR] [--package SPEC]
#
# Idempotent: a second run changes nothing; a run from a newer checkout upgrades in place,
# keeping /etc/office360 (configuration, never overwritten) and /var/lib/office360 (data),
# and runs the hub's database migrations. --uninstall removes everything but those two.
#
# Every action prints one line: "change: ..." when something is (or, with --dry-run, would
# be) changed, "ok: ..." when it is already in place, and "  + command" for each command.
# --root DIR installs files into a throw-away root (for tests and image building): commands
# that act on the running machine (apt-get, useradd, systemctl start, udevadm) are printed
# as "  skip (--root): ..." instead of run.
set -euo pipefail

readonly SERVICE_USER=office360
readonly PREFIX=/opt/office360
readonly VENV=$PREFIX/venv
readonly ETC_DIR=/etc/office360
readonly CONFIG=$ETC_DIR/office360.toml
readonly STATE_DIR=/var/lib/office360
readonly UNIT_DIR=/etc/systemd/system
readonly UDEV_RULE=/etc/udev/rules.d/60-office360-printers.rules
readonly CMDLINE=/boot/firmware/cmdline.txt
# Kernel console: never blank the screen, no blinking text cursor before the app starts.
readonly KERNEL_ARGS=(consoleblank=0 vt.global_cursor_default=0)
# One stamp per role: roles sharing the venv each notice an upgrade (and restart) once.
readonly STAMP_PREFIX=.office360-installed-

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRC_DIR

ROLE=""
UNINSTALL=0
DRY_RUN=0
ROOT=""
PACKAGE=""
CHANGES=0
PYTHON=${PYTHON:-python3}

usage() {
    cat <<EOF
Usage: $(basename "$0") hub|kiosk|display [--uninstall] [--dry-run] [--root DIR] [--package SPEC]

  hub|kiosk|display  the role of this machine (run once per role on a shared machine)
  --uninstall        stop and remove the role; keeps $ETC_DIR and $STATE_DIR
  --dry-run          print every action without changing anything
  --root DIR         install into DIR instead of / (nothing on this machine is touched)
  --package SPEC     what pip installs (a wheel, a directory or office360==X.Y);
                     default: this checkout with the role's extra
EOF
}

die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 2
}

# --- output and actions ------------------------------------------------------------------

change() {
    printf 'change: %s\n' "$*"
    CHANGES=$((CHANGES + 1))
}

ok() {
    printf 'ok: %s\n' "$*"
}

# Print a command and run it, unless --dry-run.
run() {
    printf '  +'
    printf ' %q' "$@"
    printf '\n'
    if [ "$DRY_RUN" -eq 0 ]; then
        "$@"
    fi
}

# A command that acts on the running machine: skipped with --root.
on_host() {
    if [ -n "$ROOT" ]; then
        printf '  skip (--root):'
        printf ' %q' "$@"
        printf '\n'
        return 0
    fi
    run "$@"
}

# systemctl on the machine, or offline on the files under --root.
sysctl_files() {
    if [ -n "$ROOT" ]; then
        run systemctl --quiet --root="$ROOT" "$@"
    else
        run systemctl --quiet "$@"
    fi
}

unit_state() {
    if [ -n "$ROOT" ]; then
        systemctl --root="$ROOT" is-enabled "$1" 2>/dev/null || true
    else
        systemctl is-enabled "$1" 2>/dev/null || true
    fi
}

# Copy a file when missing or different; prints what it did. Returns 0 if it changed.
put_file() {
    local src=$1 dest=$ROOT$2 mode=$3
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        ok "$2 is up to date"
        return 1
    fi
    change "$2 ($([ -f "$dest" ] && echo updated || echo new))"
    run install -D -m "$mode" "$src" "$dest"
    return 0
}

ensure_dir() {
    local dir=$ROOT$1 mode=$2 owner=$3
    if [ -d "$dir" ] && [ "$(stat -c %a "$dir")" = "${mode#0}" ]; then
        ok "$1 exists"
    else
        change "directory $1 (mode $mode)"
        run install -d -m "$mode" "$dir"
    fi
    if [ "$owner" != root:root ]; then
        if [ -n "$ROOT" ]; then
            printf '  skip (--root): chown %s %s\n' "$owner" "$dir"
        elif [ "$(stat -c %U:%G "$dir" 2>/dev/null)" != "$owner" ]; then
            change "owner of $1 is $owner"
            run chown "$owner" "$dir"
        fi
    fi
}

# --- the pieces --------------------------------------------------------------------------

apt_packages() {
    local common=(python3 python3-venv ca-certificates)
    case $ROLE in
    hub) echo "${common[@]}" ;;
    kiosk)
        echo "${common[@]}" libegl1 libgles2 libgl1 libgbm1 libdrm2 libmtdev1 libzbar0 \
            libusb-1.0-0 fonts-dejavu-core v4l-utils
        ;;
    display)
        echo "${common[@]}" libegl1 libgles2 libgl1 libgbm1 libdrm2 libasound2 alsa-utils \
            espeak-ng fonts-dejavu-core
        ;;
    esac
}

check_system() {
    if [ -n "$ROOT" ]; then
        return
    fi
    if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
        die "run as root (sudo $0 $ROLE ...), or add --dry-run to only see the actions"
    fi
    local codename=""
    if [ -r /etc/os-release ]; then
        codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
    fi
    if [ "$codename" != bookworm ]; then
        printf 'warning: made for Debian 12 / Raspberry Pi OS Bookworm, this is %s\n' \
            "${codename:-unknown}" >&2
    fi
}

install_apt_packages() {
    local wanted missing=() pkg
    read -r -a wanted <<<"$(apt_packages)"
    if [ -n "$ROOT" ]; then
        on_host apt-get install -y --no-install-recommends "${wanted[@]}"
        return
    fi
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        ok "Debian packages installed"
        return
    fi
    change "Debian packages ${missing[*]}"
    run apt-get -o DPkg::Lock::Timeout=300 update -q
    run env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
        --no-install-recommends "${missing[@]}"
}

create_user() {
    if [ -n "$ROOT" ]; then
        on_host useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "office360 service" "$SERVICE_USER"
        return
    fi
    if getent passwd "$SERVICE_USER" >/dev/null; then
        ok "user $SERVICE_USER exists"
        return
    fi
    # No extra groups: each unit adds only the groups its role needs (SupplementaryGroups=).
    change "system user $SERVICE_USER"
    run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "office360 service" "$SERVICE_USER"
}

# What pip installs, and a fingerprint of it: a new fingerprint means an upgrade.
package_spec() {
    if [ -n "$PACKAGE" ]; then
        echo "$PACKAGE"
    else
        echo "${SRC_DIR}[$ROLE]"
    fi
}

package_fingerprint() {
    local spec=$1 path=${1%\[*}
    {
        echo "$spec"
        if [ -f "$path" ]; then
            sha256sum <"$path"
        elif [ -d "$path" ]; then
            (cd "$path" && find . -type f \( -name '*.py' -o -name '*.toml' -o -name '*.kv' \
                -o -name '*.html' -o -name '*.css' -o -name '*.js' -o -name '*.ini' \
                -o -name '*.mako' -o -name '*.po' -o -name '*.wav' -o -name '*.png' \) \
                -not -path './.*' -not -path '*/__pycache__/*' -not -path './tests/*' \
                -not -path './docs/*' -not -path './bench/*' -print0 |
                sort -z | xargs -0 sha256sum)
        fi
    } | sha256sum | cut -d' ' -f1
}

# Sets PACKAGE_CHANGED=1 when pip installed something (new install or upgrade).
install_venv() {
    local spec stamp=$ROOT$VENV/$STAMP_PREFIX$ROLE fingerprint
    PACKAGE_CHANGED=0
    ensure_dir "$PREFIX" 0755 root:root
    if [ -x "$ROOT$VENV/bin/python" ]; then
        ok "virtual environment $VENV exists"
    else
        change "virtual environment $VENV"
        run "$PYTHON" -m venv "$ROOT$VENV"
    fi
    spec=$(package_spec)
    fingerprint=$(package_fingerprint "$spec")
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
        ok "office360 package is up to date ($spec)"
        return
    fi
    change "office360 package $([ -f "$stamp" ] && echo upgraded || echo installed) from $spec"
    PACKAGE_CHANGED=1
    # Upgrading under a running app: stop it first, start it again at the end.
    if [ -f "$stamp" ]; then
        on_host systemctl stop "office360-$ROLE.service"
    fi
    run "$ROOT$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$spec"
    # pip keeps an installed version it believes identical: a rebuilt checkout or wheel with an
    # unchanged version number must still replace the code.
    if [ -f "$stamp" ] && [ -e "${spec%\[*}" ]; then
        run "$ROOT$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-deps --force-reinstall "${spec%\[*}"
    fi
    if [ "$DRY_RUN" -eq 0 ]; then
        echo "$fingerprint" >"$stamp"
    fi
}

# The device roles find the hub by mDNS (empty hub_url) and keep their token in the state dir.
role_config() {
    case $ROLE in
    hub) sed -e 's/^host = "127.0.0.1"/host = "0.0.0.0"/' ;;
    *) sed -e 's|^hub_url = ".*"|hub_url = ""|' \
        -e "s|^# token_file = .*|token_file = \"$STATE_DIR/device.token\"|" ;;
    esac
}

install_config() {
    ensure_dir "$ETC_DIR" 0755 root:root
    if [ -e "$ROOT$CONFIG" ]; then
        ok "$CONFIG kept as it is (never overwritten)"
        return
    fi
    local example=$SRC_DIR/config/office360.example.toml
    [ -f "$example" ] || die "missing $example: run the installer from an office360 checkout"
    change "$CONFIG from config/office360.example.toml (edit it: offices, desks, services)"
    printf '  + install -m 0640 <example with the %s settings> %s\n' "$ROLE" "$ROOT$CONFIG"
    if [ "$DRY_RUN" -eq 0 ]; then
        role_config <"$example" | install -m 0640 /dev/stdin "$ROOT$CONFIG"
    fi
    if [ -n "$ROOT" ]; then
        printf '  skip (--root): chown root:%s %s\n' "$SERVICE_USER" "$ROOT$CONFIG"
    else
        run chown "root:$SERVICE_USER" "$CONFIG"
    fi
}

kernel_console() {
    local file=$ROOT$CMDLINE arg missing=()
    if [ ! -f "$file" ]; then
        printf 'note: no %s (not Raspberry Pi OS): add %s to the kernel command line by hand\n' \
            "$CMDLINE" "${KERNEL_ARGS[*]}"
        return
    fi
    for arg in "${KERNEL_ARGS[@]}"; do
        grep -qw -- "$arg" "$file" || missing+=("$arg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        ok "kernel console never blanks"
        return
    fi
    change "kernel command line gets ${missing[*]} (after a reboot)"
    run sed -i "1 s/\$/ ${missing[*]}/" "$file"
}

install_units() {
    local unit=office360-$ROLE.service units_changed=0
    if put_file "$SRC_DIR/systemd/$unit" "$UNIT_DIR/$unit" 0644; then
        units_changed=1
    fi
    if [ "$ROLE" = kiosk ] && put_file "$SRC_DIR/systemd/60-office360-printers.rules" "$UDEV_RULE" 0644; then
        on_host udevadm control --reload
        on_host udevadm trigger --subsystem-match=usb --action=change
    fi
    if [ "$ROLE" != hub ]; then
        if [ "$(unit_state getty@tty1.service)" = masked ]; then
            ok "no login prompt on tty1"
        else
            change "login prompt on tty1 masked (the screen belongs to office360-$ROLE)"
            sysctl_files mask getty@tty1.service
        fi
        kernel_console
    fi
    if [ "$units_changed" -eq 1 ]; then
        on_host systemctl daemon-reload
    fi
    if [ "$(unit_state "$unit")" = enabled ]; then
        ok "$unit enabled"
    else
        change "$unit enabled at boot"
        sysctl_files enable "$unit"
    fi
    if [ "$ROLE" = hub ] && [ "$PACKAGE_CHANGED" -eq 1 ]; then
        migrate_database
    fi
    start_unit "$unit" "$units_changed"
}

migrate_database() {
    change "database migrated (office360 hub migrate)"
    if [ -n "$ROOT" ]; then
        # The data directory of the throw-away root, not this machine's.
        run env "OFFICE360__HUB__DATA_DIR=$ROOT$STATE_DIR" \
            "$ROOT$VENV/bin/office360" hub migrate --config "$ROOT$CONFIG"
    else
        run runuser -u "$SERVICE_USER" -- "$VENV/bin/office360" hub migrate --config "$CONFIG"
    fi
}

start_unit() {
    local unit=$1 changed=$2
    if [ -n "$ROOT" ]; then
        on_host systemctl restart "$unit"
        return
    fi
    if [ "$changed" -eq 1 ] || [ "$PACKAGE_CHANGED" -eq 1 ]; then
        change "$unit (re)started"
        run systemctl restart "$unit"
    elif systemctl is-active --quiet "$unit"; then
        ok "$unit running"
    else
        change "$unit started"
        run systemctl start "$unit"
    fi
}

# --- install and uninstall ---------------------------------------------------------------

do_install() {
    check_system
    install_apt_packages
    create_user
    ensure_dir "$STATE_DIR" 0750 "$SERVICE_USER:$SERVICE_USER"
    install_config
    install_venv
    install_units
    printf 'office360 %s installed: %d change(s)%s\n' "$ROLE" "$CHANGES" \
        "$([ "$DRY_RUN" -eq 1 ] && echo ' (dry run: nothing was changed)')"
}

other_roles_installed() {
    local other
    for other in hub kiosk display; do
        if [ "$other" != "$ROLE" ] && [ -f "$ROOT$UNIT_DIR/office360-$other.service" ]; then
            return 0
        fi
    done
    return 1
}

screen_roles_installed() {
    local other
    for other in kiosk display; do
        if [ "$other" != "$ROLE" ] && [ -f "$ROOT$UNIT_DIR/office360-$other.service" ]; then
            return 0
        fi
    done
    return 1
}

remove_path() {
    if [ -e "$ROOT$1" ] || [ -L "$ROOT$1" ]; then
        change "removed $1"
        run rm -rf "$ROOT$1"
    else
        ok "$1 already gone"
    fi
}

do_uninstall() {
    check_system
    local unit=office360-$ROLE.service arg
    if [ -f "$ROOT$UNIT_DIR/$unit" ]; then
        on_host systemctl stop "$unit"
        if [ "$(unit_state "$unit")" = enabled ]; then
            change "$unit disabled"
            sysctl_files disable "$unit"
        fi
    fi
    remove_path "$UNIT_DIR/$unit"
    if [ "$ROLE" = kiosk ]; then
        remove_path "$UDEV_RULE"
        on_host udevadm control --reload
    fi
    if [ "$ROLE" != hub ] && ! screen_roles_installed; then
        if [ "$(unit_state getty@tty1.service)" = masked ]; then
            change "login prompt on tty1 back"
            sysctl_files unmask getty@tty1.service
        fi
        if [ -f "$ROOT$CMDLINE" ]; then
            for arg in "${KERNEL_ARGS[@]}"; do
                if grep -qw -- "$arg" "$ROOT$CMDLINE"; then
                    change "kernel command line without $arg"
                    run sed -i "1 s/ *$arg//" "$ROOT$CMDLINE"
                fi
            done
        fi
    fi
    on_host systemctl daemon-reload
    if other_roles_installed; then
        ok "$PREFIX kept: another office360 role is installed here"
        remove_path "$VENV/$STAMP_PREFIX$ROLE"
    else
        remove_path "$PREFIX"
    fi
    # The user stays, as with Debian packages, so the kept data never belongs to a recycled id.
    printf 'kept: %s (configuration), %s (data) and the user %s\n' "$ETC_DIR" "$STATE_DIR" \
        "$SERVICE_USER"
    printf 'office360 %s uninstalled: %d change(s)%s\n' "$ROLE" "$CHANGES" \
        "$([ "$DRY_RUN" -eq 1 ] && echo ' (dry run: nothing was changed)')"
}

main() {
    while [ $# -gt 0 ]; do
        case $1 in
        hub | kiosk | display)
            [ -z "$ROLE" ] || die "give one role, not $ROLE and $1"
            ROLE=$1
            ;;
        --uninstall) UNINSTALL=1 ;;
        --dry-run) DRY_RUN=1 ;;
        --root)
            [ $# -ge 2 ] || die "--root needs a directory"
            ROOT=$2
            shift
            ;;
        --root=*) ROOT=${1#--root=} ;;
        --package)
            [ $# -ge 2 ] || die "--package needs a value"
            PACKAGE=$2
            shift
            ;;
        --package=*) PACKAGE=${1#--package=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $1"
            ;;
        esac
        shift
    done
    [ -n "$ROLE" ] || {
        usage >&2
        die "say which role: hub, kiosk or display"
    }
    if [ -n "$ROOT" ]; then
        [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
        ROOT=$(cd "$ROOT" && pwd)
        [ "$ROOT" != / ] || ROOT=""
    fi
    if [ "$UNINSTALL" -eq 1 ]; then
        do_uninstall
    else
        do_install
    fi
}

main "$@"
