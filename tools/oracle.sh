#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Creates (or reuses) the virtualenv that holds the real MLflow, our oracle.
# Prints the venv's bin directory on stdout. Never needed to *run* mlsession.
#
#   tools/oracle.sh            -> the pinned release (MLFLOW_VERSION below)
#   tools/oracle.sh 2.22.1     -> another release, in its own venv (old-format fixtures)
#
# The venvs live in $MLSESSION_CACHE (default ~/.cache/mlsession), outside the tree.
# Exit 0 with the path, or exit 3 when the package index cannot be reached.
set -euo pipefail
# mlflow 3.18.0 is on the index but its mlflow-skinny/mlflow-tracing 3.18.0 are not,
# so the newest release that installs is pinned here.
MLFLOW_VERSION_DEFAULT=3.17.2
ver=${1:-${MLFLOW_VERSION:-$MLFLOW_VERSION_DEFAULT}}
cache=${MLSESSION_CACHE:-$HOME/.cache/mlsession}
venv=$cache/mlflow-$ver
stamp=$venv/.mlsession-ok
if [ -f "$stamp" ]; then
    echo "$venv/bin"
    exit 0
fi
mkdir -p "$cache"
rm -rf "$venv"
py=${PYTHON:-python3}
extra=""
case "$ver" in
    2.*) extra="setuptools<70" ;;      # 2.x imports pkg_resources
esac
{
    "$py" -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check "mlflow==$ver" psycopg2-binary $extra
} >&2 || {
    echo "oracle: could not install mlflow==$ver (package index unreachable?)" >&2
    rm -rf "$venv"
    exit 3
}
touch "$stamp"
echo "$venv/bin"
