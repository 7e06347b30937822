#!/usr/bin/env bash
# Install Debian's ferret-datasets for notebook 06 (real winds, issue 14): it provides
# /usr/share/ferret-vis/data/monthly_navy_winds.cdf (FNOC monthly surface winds 1982-1992, 73 x 144).
#
# Idempotent: does nothing when the file already exists. Installs only as root with apt-get, and with
# --no-install-recommends (the package holds only data; with recommends apt pulls ~300 packages).
# Any failure prints a warning and exits 0: notebook 06 then stops with one line and the notebook
# runner reports it as skipped, not failed. AEQKIT_NAVY_WINDS=/path/to/file points elsewhere.
set -u

navy="${AEQKIT_NAVY_WINDS:-/usr/share/ferret-vis/data/monthly_navy_winds.cdf}"

if [ -f "$navy" ]; then
    echo "install_data: $navy already present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_data: WARNING: $navy missing and not running as root; NOT installing" \
         "(run 'apt-get install -y --no-install-recommends ferret-datasets' as root)." \
         "Notebook 06 will be skipped."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_data: WARNING: $navy missing and apt-get not found; NOT installing." \
         "Notebook 06 will be skipped."
    exit 0
fi

echo "install_data: $navy missing; running apt-get update && apt-get install -y --no-install-recommends ferret-datasets"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || echo "install_data: WARNING: apt-get update failed; trying the install anyway"
if apt-get install -y -q --no-install-recommends ferret-datasets; then
    if [ -f "$navy" ]; then
        echo "install_data: installed $navy"
    else
        echo "install_data: WARNING: apt-get succeeded but $navy is still missing. Notebook 06 will be skipped."
    fi
else
    echo "install_data: WARNING: apt-get install ferret-datasets FAILED (see output above)." \
         "Notebook 06 will be skipped."
fi
exit 0
