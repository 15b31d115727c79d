# Run inside the guest by VmPs.ImdsBench as: sh -c "$(cat requests.sh)" sh WARMUP RUNS
# Prints one line per timed request: SUBJECT START END, both busybox ash's $EPOCHREALTIME (microseconds, read by the
# shell itself, so no timing process runs inside the interval). The subjects take turns, the order rotating each round.
set -e
warmup=$1 runs=$2
dir=/tmp/imdsbench
imds=http://169.254.169.254
mkdir -p $dir
# The static peer serves a copy of IMDS's own answer, so both bodies are the same bytes.
wget -qO $dir/instance-id $imds/latest/meta-data/instance-id
httpd -f -p 127.0.0.1:8080 -h $dir </dev/null >/dev/null 2>&1 &
httpd=$!
trap 'kill $httpd' EXIT
i=0
until wget -qO /dev/null http://127.0.0.1:8080/instance-id 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo 'httpd did not answer' >&2; exit 3; }; sleep 0.1
done
token=$(printf 'PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\nConnection: close\r\n\r\n' | nc 169.254.169.254 80 | tail -n 1)
[ -n "$token" ] || { echo 'no IMDSv2 token' >&2; exit 4; }

timed() {
    subject=$1; shift
    t0=$EPOCHREALTIME
    # Only the client baseline (a refused connection) may fail.
    wget -qO /dev/null "$@" || [ $subject = client ] || { echo "$subject: wget $* failed" >&2; exit 5; }
    t1=$EPOCHREALTIME
    [ $round -le $warmup ] || echo "$subject $t0 $t1"
}
v1() { timed imds-v1 $imds/latest/meta-data/instance-id; }
v2() { timed imds-v2 --header "X-aws-ec2-metadata-token: $token" $imds/latest/meta-data/instance-id; }
static() { timed httpd http://127.0.0.1:8080/instance-id; }
client() { timed client http://127.0.0.1:1/; }

round=1
while [ $round -le $((warmup + runs)) ]; do
    case $((round % 4)) in
        0) static; v1; v2; client ;;
        1) v1; v2; client; static ;;
        2) v2; client; static; v1 ;;
        3) client; static; v1; v2 ;;
    esac
    round=$((round + 1))
done
