#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the browser test (e2e/test_browser.py), from Debian's
# packages `chromium` and `chromium-driver`: the machines reach Debian's mirror but not the
# hosts selenium-manager would download a browser or driver from.
#
#   bash tools/browser.sh    install them if missing (as root), then print their versions
#
# Idempotent: with both present it installs nothing. Progress goes to stderr.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

log() { echo "browser: $*" >&2; }
die() { log "$*"; exit 1; }

if [[ ! -x $CHROMIUM || ! -x $CHROMEDRIVER ]]; then
    ((EUID == 0)) || die "chromium and chromium-driver are missing; run this script as root to install them"
    started=$SECONDS
    log "installing Debian packages chromium chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    # Without recommends: about 25 packages instead of 130 (a desktop's fonts, udev, upower, a
    # notification daemon), none of which a headless browser needs.
    apt-get install -y -q --no-install-recommends chromium chromium-driver >&2
    [[ -x $CHROMIUM && -x $CHROMEDRIVER ]] ||
        die "apt-get installed chromium and chromium-driver but $CHROMIUM or $CHROMEDRIVER is missing"
    log "installed in $((SECONDS - started)) s"
fi
log "$("$CHROMIUM" --version 2>/dev/null), $("$CHROMEDRIVER" --version | cut -d' ' -f1-2)"
