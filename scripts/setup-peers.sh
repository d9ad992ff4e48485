#!/usr/bin/env bash
# Installs the programs some tests need that npm cannot install (`npm run setup:peers`):
#   orthanc, orthanc-dicomweb  a real PACS with DICOMweb, for the DICOMweb/assembly/cohort tests
#   chromium                   a headless browser for the SMART review app's end-to-end test
# They are Debian/Ubuntu packages, so this runs apt-get and needs root (or sudo). Without them
# those tests are skipped with one line saying so (test/helpers/peers.ts); with
# FHIR_FUSION_REQUIRE_PEERS=1 (CI) they fail instead.
set -euo pipefail
packages=(orthanc orthanc-dicomweb chromium)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup:peers: apt-get not found. Install ${packages[*]} with your system's package manager," >&2
  echo "or point the tests at your own: FHIR_FUSION_ORTHANC_BIN, FHIR_FUSION_ORTHANC_DICOMWEB_PLUGIN, CHROMIUM_PATH." >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup:peers: ${packages[*]} already installed."
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
  echo "setup:peers: not root, using sudo."
else
  echo "setup:peers: installing Debian packages needs root; run as root or install sudo." >&2
  exit 1
fi

echo "setup:peers: apt-get update, then apt-get install ${missing[*]} (Debian packages)."
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup:peers: installed ${missing[*]}."
