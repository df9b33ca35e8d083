#!/usr/bin/env bash
# Boots a real systemd as PID 1 of its own PID, mount and network namespaces, isolated so that it can touch nothing
# of the host: private tmpfs on /tmp, /var/tmp and /run; /etc, /usr and /var as overlays whose upper layers live in
# a private tmpfs (so sysusers, credentials, installed programs and PostgreSQL clusters vanish with it); every unit
# and generator of the host masked; its own target. Sourced by scripts/systemd-tier.sh, which drives it with
#
#   sandbox_boot DIR        boot it (DIR: a host directory for its console log); sets SANDBOX_PID
#   sandbox CMD...          run CMD inside it (all its namespaces), as root
#   sandbox_stop            SIGKILL its PID 1: the kernel ends every process of the namespace, the mounts go with it
#
# /home and /root are private tmpfs too (useradd, shells' histories). Never boot systemd without this isolation: its
# tmpfiles set-up empties the real /tmp (builds, clusters, CI's clone) and sysinit would apply sysctls and remount
# file systems of the host.

SANDBOX_PID=
SANDBOX_TARGET=galaxy-tier.target

# Why this machine cannot run the sandbox, or nothing when it can.
sandbox_unavailable() {
    [[ $(id -u) == 0 ]] || { echo "not root"; return; }
    [[ -x /lib/systemd/systemd ]] || { echo "no /lib/systemd/systemd"; return; }
    command -v unshare >/dev/null && command -v nsenter >/dev/null || { echo "no unshare/nsenter"; return; }
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || { echo "no overlayfs"; return; }
    unshare --pid --fork --mount --net true 2>/dev/null || { echo "unshare of pid/mount/net namespaces refused"; return; }
}

# Runs as PID 1 of the new namespaces (from sandbox_boot): isolates the file system, then becomes systemd. Every step
# must succeed; any failure exits before systemd starts.
sandbox_pid1() {
    set -euo pipefail
    local layers=$1
    [[ $$ == 1 ]] || { echo "sandbox: not PID 1 of a new PID namespace" >&2; exit 1; }
    # Nothing mounted here propagates to the host; then shared inside, which systemd's LoadCredential= needs (it
    # mounts the credentials in a private namespace and moves them into the service's view).
    mount --make-rprivate /
    mount --make-rshared /
    mount -t tmpfs -o mode=0700 galaxy-sandbox "$layers"
    local tree
    for tree in etc usr var; do
        mkdir -p "$layers/$tree/upper" "$layers/$tree/work"
        mount -t overlay overlay -o "lowerdir=/$tree,upperdir=$layers/$tree/upper,workdir=$layers/$tree/work" "/$tree"
    done
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    mount -t tmpfs -o mode=1777 tmpfs /var/tmp
    mount -t tmpfs -o mode=0755 tmpfs /run
    mount -t tmpfs -o mode=0755 tmpfs /home
    mount -t tmpfs -o mode=0700 tmpfs /root
    for tree in /tmp /var/tmp /run /home /root; do
        [[ $(findmnt -n -o FSTYPE "$tree") == tmpfs ]] || { echo "sandbox: $tree is not private" >&2; exit 1; }
    done
    for tree in /etc /usr /var; do
        [[ $(findmnt -n -o FSTYPE "$tree") == overlay ]] || { echo "sandbox: $tree is not an overlay" >&2; exit 1; }
    done
    ip link set lo up

    # Mask every unit and generator the host ships or enabled, except what the tier needs: the journal and
    # PostgreSQL's cluster template. Masks go in /etc (the overlay), which wins over /run and /lib.
    local keep='^(systemd-journald(-dev-log)?\.(service|socket)|postgresql@\.service)$'
    mkdir -p /etc/systemd/system /etc/systemd/system-generators
    local unit name
    for unit in /lib/systemd/system/* /usr/lib/systemd/system/* /etc/systemd/system/*; do
        name=${unit##*/}
        case $name in
            *.service | *.socket | *.timer | *.path | *.mount | *.automount | *.swap) ;;
            *) continue ;;
        esac
        [[ $name =~ $keep ]] && continue
        rm -rf "/etc/systemd/system/$name"
        ln -s /dev/null "/etc/systemd/system/$name"
    done
    rm -rf /etc/systemd/system/*.wants
    for unit in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/*; do
        [[ ${unit##*/} == postgresql-generator ]] && continue
        ln -sf /dev/null "/etc/systemd/system-generators/${unit##*/}"
    done
    # The host's PostgreSQL cluster(s) stay down; the tier creates its own.
    for unit in /etc/postgresql/*/*/start.conf; do
        [[ -e $unit ]] && echo disabled >"$unit"
    done

    mkdir -p /run/systemd/system
    cat >/run/systemd/system/$SANDBOX_TARGET <<'EOF'
[Unit]
Description=galaxy's systemd tier
Wants=systemd-journald.socket systemd-journald-dev-log.socket
AllowIsolate=yes
EOF
    exec env -i container=galaxy-sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        /lib/systemd/systemd --unit="$SANDBOX_TARGET" --log-target=journal --show-status=no
}

sandbox_boot() {
    local dir=$1
    mkdir -p "$dir/layers"
    unshare --pid --fork --mount --mount-proc --net --propagation private \
        bash -c "$(declare -f sandbox_pid1); SANDBOX_TARGET=$SANDBOX_TARGET; sandbox_pid1 '$dir/layers'" \
        </dev/null >"$dir/console.log" 2>&1 &
    local unshare_pid=$! attempt
    for attempt in $(seq 1 100); do
        SANDBOX_PID=$(pgrep -P "$unshare_pid" -x systemd || true)
        [[ -n $SANDBOX_PID ]] && break
        kill -0 "$unshare_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $SANDBOX_PID ]]; then
        echo "sandbox: systemd did not start; its console:" >&2
        tail -n 30 "$dir/console.log" >&2
        return 1
    fi
    # systemd answers once its private bus is up; the tier's target is reached when the journal listens.
    for attempt in $(seq 1 200); do
        sandbox systemctl is-active --quiet "$SANDBOX_TARGET" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "sandbox: $SANDBOX_TARGET not reached in 20 s; console:" >&2
    tail -n 30 "$dir/console.log" >&2
    return 1
}

sandbox() {
    nsenter --target "$SANDBOX_PID" --all -- "$@"
}

sandbox_stop() {
    [[ -n $SANDBOX_PID ]] || return 0
    kill -KILL "$SANDBOX_PID" 2>/dev/null || true
    local attempt
    for attempt in $(seq 1 100); do
        kill -0 "$SANDBOX_PID" 2>/dev/null || break
        sleep 0.1
    done
    SANDBOX_PID=
    # systemd made its cgroups in the host's hierarchies (there is no cgroup namespace); they are empty now.
    find /sys/fs/cgroup/*/system.slice /sys/fs/cgroup/*/init.scope /sys/fs/cgroup/*/user.slice -depth -type d \
        -exec rmdir {} + 2>/dev/null || true
}
