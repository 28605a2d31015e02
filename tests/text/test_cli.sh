#!/usr/bin/env bash
# test_cli.sh — `cicada text` (cmd_text.c) as people and scripts use it: options and their errors,
# one output line per input line in order (10,000 lines), invalid UTF-8, a missing final newline,
# CRLF, NUL bytes, a 1 MB line, and an operator word list. Usage: test_cli.sh TEXT_CLI
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_out NAME EXPECTED ARGS... (stdin: the input)
expect_out() {
  local name=$1 want=$2
  shift 2
  local got
  got=$("$cli" "$@") || { fail "$name: exit $?"; return; }
  [ "$got" = "$want" ] || fail "$name: got [$got], want [$want]"
}

# expect_rc NAME RC ARGS...
expect_rc() {
  local name=$1 want=$2 rc=0
  shift 2
  "$cli" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$name: exit $rc, want $want"
  if [ "$want" = 2 ] && ! [ -s "$tmp/err" ]; then fail "$name: no message on stderr"; fi
}

# --- options ---
"$cli" --help >"$tmp/help" || fail "--help exit $?"
grep -q "usage: cicada text" "$tmp/help" || fail "--help text"
expect_rc "num mode 2" 2 --convert-num-mode 2
expect_rc "num mode 4" 2 --convert-num-mode=4
expect_rc "modal 3" 2 --filter-modal 3
expect_rc "dirty -1" 2 --filter-dirty -1
expect_rc "punc abc" 2 --filter-punc=abc
expect_rc "punc empty" 2 --filter-punc=
expect_rc "missing value" 2 --filter-punc
expect_rc "unknown option" 2 --bogus 1
expect_rc "bad lang" 2 --lang fr
expect_rc "positional" 2 input.txt
expect_rc "missing word list" 1 --dirty-words "$tmp/nonexistent"
expect_rc "defaults" 0

# --- processing ---
printf '百分之六点三\n嗯，我有三十个苹果。\ntwenty five\n' >"$tmp/in"
expect_out "mode 0 changes nothing" "$(cat "$tmp/in")" <"$tmp/in"
expect_out "all options" $'6.3%\n我有30个苹果\n25' \
  --convert-num-mode 1 --filter-modal=1 --filter-dirty 0 --filter-punc 2 <"$tmp/in"
expect_out "lang en leaves Chinese" $'百分之六点三\n嗯，我有三十个苹果。\n25' --convert-num-mode 1 --lang en <"$tmp/in"
expect_out "lang zh leaves English" $'6.3%\n嗯，我有30个苹果。\ntwenty five' --convert-num-mode 1 --lang zh <"$tmp/in"
expect_out "dirty" "what the ****" --filter-dirty 2 <<<'what the fuck'
printf '# mine\nbanana\n' >"$tmp/words"
expect_out "word list" $'split\nfuck' --filter-dirty 1 --dirty-words "$tmp/words" <<<$'banana split\nfuck'

# --- lines: invalid UTF-8, NUL, CRLF, no final newline, empty lines ---
printf 'a\xffb\n\n\xe4\xb8\nc\x00d\r\nlast' >"$tmp/odd"
"$cli" --filter-punc 1 <"$tmp/odd" >"$tmp/odd.out"
printf 'a\xef\xbf\xbdb\n\n\xef\xbf\xbd\xef\xbf\xbd\nc\xef\xbf\xbdd\nlast\n' >"$tmp/odd.want"
cmp -s "$tmp/odd.out" "$tmp/odd.want" || fail "odd lines: $(od -c "$tmp/odd.out" | head -5)"

# --- 10,000 lines, one out per line in, in order ---
awk 'BEGIN { for (i = 1; i <= 10000; i++) if (i % 1000 == 0) print ""; else printf "第%d行，嗯，有二十五个，三四十人。\n", i }' >"$tmp/big"
awk 'BEGIN { for (i = 1; i <= 10000; i++) if (i % 1000 == 0) print ""; else printf "第%d行，有25个，30~40人\n", i }' >"$tmp/big.want"
"$cli" --convert-num-mode 1 --filter-modal 1 --filter-punc 1 <"$tmp/big" >"$tmp/big.out"
[ "$(wc -l <"$tmp/big.out")" = 10000 ] || fail "10000 lines: got $(wc -l <"$tmp/big.out")"
cmp -s "$tmp/big.out" "$tmp/big.want" || fail "10000 lines differ: $(diff "$tmp/big.out" "$tmp/big.want" | head -4)"

# --- a 1 MB line ---
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "二十五个人，"; print "" }' >"$tmp/long"
"$cli" --convert-num-mode 1 <"$tmp/long" >"$tmp/long.out"
[ "$(wc -l <"$tmp/long.out")" = 1 ] || fail "long line: $(wc -l <"$tmp/long.out") lines"
[ "$(grep -o '25个人' "$tmp/long.out" | wc -l)" = 40000 ] || fail "long line content"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "cicada text: all checks passed"
