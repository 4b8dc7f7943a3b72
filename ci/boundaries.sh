#!/usr/bin/env bash
# The layer boundaries of ARCHITECTURE.md, checked: each rule prints the offending lines and
# the script fails if any rule is broken. Run from the repository root.
set -uo pipefail

failed=0
# rule DESCRIPTION PATTERN PATHS... [-- EXCLUDED_PREFIX...]: no line of the Rust sources under
# PATHS (comment lines aside) may match PATTERN. A path at the start of a line is an import
# inside `use crate::{…}` (`domain::webhooks`); `domain::Model` (capitalised) is the entity.
rule() {
  local what="$1" pattern="$2"
  shift 2
  local paths=() excluded=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do paths+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  excluded=("$@")
  local hits
  hits=$(grep -rnE --include='*.rs' "$pattern" "${paths[@]}" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
  for prefix in "${excluded[@]}"; do
    hits=$(printf '%s\n' "$hits" | grep -v "^$prefix" || true)
  done
  hits=$(printf '%s\n' "$hits" | sed '/^$/d')
  if [ -n "$hits" ]; then
    echo "boundary broken: $what"
    printf '%s\n' "$hits" | sed 's/^/  /'
    failed=1
  fi
}

# SQL and the ORM live in store/ (and the migrations, a crate of their own).
rule "sea-orm or sqlx used outside src/store/" '\b(sea_orm|sqlx)::|\buse (sea_orm|sqlx)\b' src -- src/store/
rule "store/ imports the layers above it" 'crate::(domain|api|compat|events|media|state|cli)\b|^\s*(domain|api|compat|events|media|state|cli)::(\{|[a-z_])' src/store
rule "entity models reach api/ or compat/" '\bentities\b' src/api src/compat
rule "events/ imports domain/ (the domain uses events, not the other way round)" 'crate::domain\b|^\s*domain::(\{|[a-z_])' src/events
rule "poem below api/ and compat/" '\bpoem(_openapi)?::|\buse poem' src/domain src/store src/events src/media src/auth

if [ "$failed" -ne 0 ]; then
  echo "see ARCHITECTURE.md: layers and what each may use"
  exit 1
fi
echo "layer boundaries hold"
