# Sourced by the container scripts (build-base-image.sh, container-smoke.sh): how podman is called.
#
# On the development and CI machines (root, no Docker daemon, cgroup v1/hybrid) podman needs runc
# and the cgroupfs manager: crun cannot set up this host's hybrid cgroups, and `--cgroups=disabled`
# is refused by runc. Elsewhere set FHIR_FUSION_PODMAN_FLAGS="" (or to what your host needs), or
# FHIR_FUSION_CONTAINER_ENGINE=docker.
# shellcheck shell=bash
engine=${FHIR_FUSION_CONTAINER_ENGINE:-podman}
read -r -a engine_flags <<<"${FHIR_FUSION_PODMAN_FLAGS---runtime runc --cgroup-manager=cgroupfs}"
if [ "$engine" != podman ]; then engine_flags=(); fi

# `ctr ARGS...` runs the container engine with the host's flags. Without systemd, podman 4.3 logs
# an error for every HEALTHCHECK timer it cannot create or remove (the checks still run on demand,
# `podman healthcheck run`): those lines are dropped, everything else on stderr is kept.
ctr() {
  if [ "$engine" = podman ]; then
    local status=0
    { "$engine" "${engine_flags[@]}" "$@" 2>&1 1>&3 3>&- | { grep -v 'systemd connection' >&2 || true; }; } 3>&1 || status=$?
    return $status
  fi
  "$engine" "${engine_flags[@]}" "$@"
}

# The Debian mirror this machine's apt uses (deb822 .sources first, then sources.list), so the
# base image comes from the same place as the host's packages.
debian_mirror() {
  local uri
  uri=$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -h -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
