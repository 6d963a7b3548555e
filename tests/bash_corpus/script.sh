#!/bin/bash
set -euo pipefail
usage() {
  cat <<-EOF
	usage: $0 [-v] file...
	EOF
}
declare -A seen=( [a]=1 [b]=2 )
arr=(one "two three" $'four\tfive')
for f in "$@"; do
  case "$f" in
    -v|--verbose) verbose=1 ;;
    *.txt) echo "text: ${f%.txt}" ;;
    *) [[ -f $f && ! -L $f ]] || { echo "skip $f" >&2; continue; } ;;
  esac
done
while IFS= read -r line; do
  if (( ${#line} > 80 )); then
    printf '%s\n' "${line:0:80}…"
  elif [[ $line =~ ^#([a-z]+) ]]; then
    echo "tag ${BASH_REMATCH[1]}"
  fi
done < <(grep -v '^$' input.txt | sort -u)
result=$(cd /tmp && ls -la | awk '{ print $9 }' | head -n 5)
count=$(( $(wc -l <<< "$result") + 1 ))
echo "count=$count" | tee -a log.txt 2>&1
trap 'rm -f "$tmp"; echo done' EXIT
until ping -c1 host >/dev/null 2>&1; do sleep 1; done &
select opt in a b; do break; done
cat > out.json <<'JSON'
{"a": [1, 2], "b": "$HOME"}
JSON
function cleanup { local rc=$?; echo "exit $rc"; }
x=${y:-"default value"} z=`echo back \`tick\``
exec 3>&1 4>&2
echo "nested $(echo "inner $(date +%s)")" # comment with 'quote
