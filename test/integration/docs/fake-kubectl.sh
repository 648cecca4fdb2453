#!/usr/bin/env bash
# A stand-in for kubectl in kubernetes-guide.test.ts: just enough for the
# commands docs/kubernetes.md gives. `create secret generic` writes each key
# to $FAKE_SECRETS/NAME/KEY; `exec ... -c grantd -- CMD` runs CMD here the way
# the grantd container would (/app is the repo, the data folder, config and
# vault key are the test's). Anything else fails, so the docs cannot drift to
# a command this does not understand.
set -euo pipefail

case "$1" in
  create)
    [ "$2" = secret ] && [ "$3" = generic ] || { echo "fake kubectl: only create secret generic" >&2; exit 2; }
    name=$4
    shift 4
    dir="$FAKE_SECRETS/$name"
    [ ! -e "$dir" ] || { echo "error: secrets \"$name\" already exists" >&2; exit 1; }
    mkdir -p "$dir"
    for arg in "$@"; do
      case "$arg" in
        --from-file=*=*) kv=${arg#--from-file=}; cat "${kv#*=}" > "$dir/${kv%%=*}" ;;
        --from-literal=*=*) kv=${arg#--from-literal=}; printf %s "${kv#*=}" > "$dir/${kv%%=*}" ;;
        *) echo "fake kubectl: unknown argument $arg" >&2; exit 2 ;;
      esac
    done
    ;;
  exec)
    shift
    container=
    while [ "$1" != "--" ]; do
      case "$1" in
        -c) container=$2; shift 2 ;;
        *) shift ;;
      esac
    done
    shift
    [ "$container" = grantd ] || { echo "fake kubectl: exec into container '$container'" >&2; exit 2; }
    args=()
    for a in "$@"; do args+=("${a/#\/app\//$FAKE_APP/}"); done
    [ "${args[0]}" = node ] && args[0]=$FAKE_NODE
    GRANTD_HOME=$FAKE_DATA GRANTD_CONFIG=$FAKE_CONFIG \
      GRANTD_VAULT_KEY=$(cat "$FAKE_SECRETS/grantd-vault-key/vault-key") "${args[@]}"
    ;;
  *)
    echo "fake kubectl: '$1' is not faked" >&2
    exit 2
    ;;
esac
