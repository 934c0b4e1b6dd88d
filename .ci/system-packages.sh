#!/usr/bin/env bash
# System packages the test suite needs beyond pip, from Debian's packages; nothing is
# downloaded at test time:
# - headless Chromium and its WebDriver, for the browser check of the demo page
#   (tests/test_demo_page.py);
# - a Java runtime, for the Spark engine's parity tests on real PySpark (tests/spark).
#
# Idempotent: installs only what is missing (/usr/bin/chromium, /usr/bin/chromedriver,
# `java` on the PATH). Runs apt-get directly as root, through `sudo -n` otherwise.
# Where there is no apt-get (not Debian/Ubuntu) it only warns: the browser and Spark
# tests then skip, saying why. A failed install is an error.
set -euo pipefail

PACKAGES=()
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    PACKAGES+=(chromium chromium-driver)
fi
if ! command -v java >/dev/null 2>&1; then
    PACKAGES+=(default-jre-headless)
fi

if [[ ${#PACKAGES[@]} -eq 0 ]]; then
    echo "system-packages: chromium, chromedriver and java already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-packages: warning: no apt-get here; install ${PACKAGES[*]} yourself" \
        "(the browser and Spark tests skip without them)" >&2
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)  # never wait for a password: fail instead
else
    echo "system-packages: error: not root and no sudo; cannot install ${PACKAGES[*]}" >&2
    exit 1
fi

# Wait for another apt/dpkg to let go of its locks instead of failing at once,
# and retry flaky downloads.
apt_opts=(-q -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)

echo "system-packages: installing ${PACKAGES[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_opts[@]}" update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_opts[@]}" install -y --no-install-recommends "${PACKAGES[@]}"

for binary in /usr/bin/chromium /usr/bin/chromedriver; do
    if [[ ! -x $binary ]]; then
        echo "system-packages: error: $binary missing after installing ${PACKAGES[*]}" >&2
        exit 1
    fi
done
if ! command -v java >/dev/null 2>&1; then
    echo "system-packages: error: java missing after installing ${PACKAGES[*]}" >&2
    exit 1
fi
/usr/bin/chromium --version 2>/dev/null  # its launcher warns about /dev/shm on stderr
/usr/bin/chromedriver --version
java -version 2>&1
