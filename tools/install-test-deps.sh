#!/bin/sh
# Installs the independent checkers the tests compare against (yanglint, yangcli, mandoc) and
# bmake, FreeBSD's make, to prove the Makefile portable; chromium and its driver, and
# firefox-esr, for the web interface's browser tests (tests/webui/); dnsmasq, whose --test
# checks the configuration hvd generates (tests/host/test_dnsmasq.py).
# Debian: apt-get; FreeBSD: pkg. Does nothing when they are already there.
set -eu
need=""
command -v yanglint >/dev/null 2>&1 || need="$need libyang2-tools"
command -v yangcli >/dev/null 2>&1 || need="$need yangcli"
command -v mandoc >/dev/null 2>&1 || need="$need mandoc"
command -v bmake >/dev/null 2>&1 || need="$need bmake"
command -v ssh-keyscan >/dev/null 2>&1 || need="$need openssh-client"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || need="$need firefox-esr"
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
[ -z "$need" ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
elif command -v pkg >/dev/null 2>&1; then
    pkg install -y libyang2 mandoc chromium firefox-esr dnsmasq  # make is FreeBSD's own; chromium has chromedriver
else
    echo "install-test-deps: please install:$need" >&2
    exit 1
fi
