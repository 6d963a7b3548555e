log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
for ((i = 0; i < ${#arr[@]}; i++)); do
  echo "${arr[$i]//\//_}" "${arr[i]:-none}" "${!ref}" "${#arr[*]}"
done
out=$(case $1 in
  start) echo go ;;
  stop|halt) echo stop ;;
  (*) echo "unknown: $1" ;;
esac)
if [[ "$out" == go* && ( -n $x || $y != "a b" ) ]]; then log ok; fi
[[ $v =~ ^([0-9]+)\.([0-9]+)$ ]] && major=${BASH_REMATCH[1]}
mapfile -t lines < <(seq 3); read -r a b <<< "1 2"
{ echo a; echo b; } | paste - - > /dev/null
coproc worker { cat; }
echo ~/dir/{a,b}/*.c 'single "quoted"' "double 'quoted'" $"translated"
tr -d '\r' < in.txt | while read -r l; do let n+=1; done
sudo tee /etc/conf >/dev/null <<EOF2
key = ${VALUE}
path = $(pwd)/x
EOF2
ssh host bash -s <<'REMOTE'
  echo "$HOSTNAME"; exit 0
REMOTE
if ! grep -q x f; then :; elif test -e g; then true; else false; fi
case "$x" in a) ;; b) echo b;& c) echo c;;& *) ;; esac
x=$(( (a + b) * c % 7 )) ; echo $[x+1] $((x<<2))
printf -v var '%q' "$*"; eval "arr2=($var)"
until [ -z "$(jobs -p)" ]; do wait -n || break; done
echo "a \"quoted\" \$dollar \`tick\`" 'it'\''s' $'tab\there\n'
