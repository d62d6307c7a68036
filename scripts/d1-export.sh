#!/usr/bin/env bash
# `wrangler d1 export` for a database with the search index (docs/search.md).
#
# `wrangler d1 export` refuses any database with a virtual table ("cannot export databases
# with Virtual Tables (fts5)"), so this drops the index (messages_fts and its triggers),
# exports, and puts the index back from migrations/0004_search.sql with a 'rebuild' — also
# when the export fails. The index holds nothing the messages table does not, so nothing is
# lost; searches fail while it is gone (seconds on a small database; the rebuild reads every
# message, so longer on a big one) and flushes meanwhile are indexed by the rebuild.
#
# The dump gets the same SQL appended, so importing it (`wrangler d1 execute DB --file dump.sql`)
# yields a database with its index: the dump's d1_migrations says 0004 ran, and the imported
# rows get new rowids, so the index must be built after the rows in any case.
#
# Usage: scripts/d1-export.sh --local|--remote --output FILE [--env NAME] [--config PATH] [--database DB]
#   --local exports the local database of `npm start` (.wrangler/state next to the config).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
index_sql="$here/migrations/0004_search.sql"
database=DB
where=""
output=""
common=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --local | --remote) where="$1" ;;
    --output) output="${2:?--output needs a file}"; shift ;;
    --env | -e | --config | -c) common+=("$1" "${2:?$1 needs a value}"); shift ;;
    --database) database="${2:?--database needs a name}"; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "d1-export: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$where" ]] || { echo "d1-export: give --local or --remote" >&2; exit 2; }
[[ -n "$output" ]] || { echo "d1-export: give --output FILE" >&2; exit 2; }
output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"

export WRANGLER_SEND_METRICS="${WRANGLER_SEND_METRICS:-false}"
wrangler() { (cd "$here" && npx --no-install wrangler "$@"); }

drop_sql="DROP TRIGGER IF EXISTS messages_fts_insert; DROP TRIGGER IF EXISTS messages_fts_update; DROP TRIGGER IF EXISTS messages_fts_delete; DROP TABLE IF EXISTS messages_fts;"
# Dropping first makes restoring idempotent, whatever state a failed step left behind.
restore_file="$(mktemp "${TMPDIR:-/tmp}/d1-export-index.XXXXXX.sql")"
{ echo "$drop_sql"; cat "$index_sql"; } >"$restore_file"

restore() {
  local status=$?
  echo "d1-export: rebuilding the search index" >&2
  if ! wrangler d1 execute "$database" "$where" "${common[@]}" --yes --file "$restore_file" >/dev/null; then
    echo "d1-export: RESTORING THE SEARCH INDEX FAILED; search is down until you run:" >&2
    echo "  npx wrangler d1 execute $database $where ${common[*]} --file $restore_file" >&2
    exit 1
  fi
  rm -f "$restore_file"
  exit "$status"
}

echo "d1-export: dropping the search index (it is rebuilt afterwards)" >&2
trap restore EXIT
wrangler d1 execute "$database" "$where" "${common[@]}" --yes --command "$drop_sql" >/dev/null
wrangler d1 export "$database" "$where" "${common[@]}" --skip-confirmation --output "$output"
{ printf '\n-- The search index (migrations/0004_search.sql), built after the rows above.\n'; cat "$index_sql"; } >>"$output"
echo "d1-export: wrote $output" >&2
