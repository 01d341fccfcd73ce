#!/usr/bin/env python3
"""Turn the results of bench/anchors/run.sh into the markdown tables of
docs/benchmarks.md (spliced between the RESULTS markers; the prose around them
is kept) and results/summary.json.

  report.py RESULTS_DIR docs/benchmarks.md
"""
import json, os, statistics, sys

res, doc = sys.argv[1], sys.argv[2]


def load(name):
    p = os.path.join(res, name)
    return json.load(open(p)) if os.path.exists(p) else None


def pct(x):
    return '%.1f %%' % (100 * x)


def fpr(x):
    return '%.2f %%' % (100 * x)


run = load('run.json')
probe = load('probe.json')
bench = [json.loads(l) for l in open(os.path.join(res, 'bench.jsonl')) if l.strip()]
mem = next(b for b in bench if b.get('tag') == 'memory')


def at(m, key):
    r = m.get(key)
    return '%s (%g; %d FP)' % (pct(r['spam_recall']), r['threshold'], r['fp']) if r else '-'


def curve(m):
    return [at(m, 'at_fpr_le_0.1pct'), at(m, 'at_fpr_le_0.5pct'), '%.4f' % m['roc_auc']]


rows = []
same = ['"', '"', '"']
sm, sm6, sv = load('scilla_metrics.json'), load('scilla_metrics_spam_only.json'), load('scilla_verdicts.json')
dbv = probe['version_header'] if probe else '?'
dbname = dbv[dbv.find('(') + 1:dbv.rfind(')')] if '(' in dbv else dbv
name = 'Scilla scillad, %s, /checkv2' % dbname
scored = ' (score.py, %d scanned)' % sm['n'] if sm['errors'] else ' (score.py)'
p, s = sv['spam_or_probable'], sv['spam_only']
rows.append([name + ': status SPAM or PROBABLE_SPAM (default verdict)', pct(p['spam_recall']), fpr(p['ham_fpr'])] + curve(sm))
if sm['errors']:
    rows[-1][0] += ' [threshold columns and AUC: score.py over the %d scanned]' % sm['n']
rows.append([name + ': status SPAM only', pct(s['spam_recall']), fpr(s['ham_fpr'])] + same)
d45, d6 = sm['default']['score>=4.5'], sm6['default']['score>=6']
rows.append([name + ': score >= 4.5' + scored, pct(d45['spam_recall']), fpr(d45['ham_fpr'])] + same)
rows.append([name + ': score >= 6' + scored, pct(d6['spam_recall']), fpr(d6['ham_fpr'])] + same)
em, em6 = load('engine_metrics.json'), load('engine_metrics_spam_only.json')
if em:
    e45, e6 = em['default']['score>=4.5'], em6['default']['score>=6']
    rows.append(['Scilla engine in-process (scilla-db score, embedded database): score >= 4.5',
                 pct(e45['spam_recall']), fpr(e45['ham_fpr'])] + curve(em))
    rows.append(['Scilla engine in-process: score >= 6', pct(e6['spam_recall']), fpr(e6['ham_fpr'])] + same)
bm = load('bogo_metrics.json')
bv, bu = bm['default']['bogofilter_verdict'], bm['default']['spam_or_unsure_as_positive']
bname = 'bogofilter %s' % run.get('bogofilter', '')
rows.append([bname + ': verdict Spam', pct(bv['spam_recall']), fpr(bv['ham_fpr'])] + curve(bm))
rows.append([bname + ': Spam or Unsure', pct(bu['spam_recall']), fpr(bu['ham_fpr'])] + same)
sam, sarun = load('sa_metrics.json'), load('sa_run.json')
sa_note = ''
if sam and sarun and sarun.get('run_id') != run.get('run_id'):
    sa_note = ' (separate run, %s, load %s)' % (sarun['date'], sarun['loadavg'])
if sam:
    d = sam['default']['score>=5']
    rows.append(['SpamAssassin %s (spamd/spamc)%s: score >= 5' % (sarun.get('spamassassin', '') if sarun else '', sa_note),
                 pct(d['spam_recall']), fpr(d['ham_fpr'])] + curve(sam))

acc = ['| System / operating point | Spam recall | Ham FP rate | Recall @ FP <= 0.1 % (threshold; FP) | Recall @ FP <= 0.5 % (threshold; FP) | ROC AUC |',
       '|---|---|---|---|---|---|']
acc += ['| ' + ' | '.join(r) + ' |' for r in rows]


def runs(prefix, c):
    return [b for b in bench if b.get('tag', '').startswith('%s c=%d ' % (prefix, c))]


def med(prefix, c, k):
    v = [b[k] for b in runs(prefix, c)]
    return statistics.median(v) if v else float('nan')


sa_bench = []
if os.path.exists(os.path.join(res, 'sa_bench.jsonl')):
    sa_bench = [json.loads(l) for l in open(os.path.join(res, 'sa_bench.jsonl')) if l.strip()]
    for b in sa_bench:
        if b.get('tag', '').startswith('spamc c='):
            b['tag'] = 'sa ' + b['tag'][len('spamc '):]
    if not any(b.get('tag', '').startswith('sa c=') for b in sa_bench):
        # SA_REPEATS=0: only the scoring pass (4 in flight) was timed
        for b in sa_bench:
            if b.get('tag') == 'sa-score':
                b['tag'] = 'sa c=4 scoring pass'
    bench += sa_bench

speed = ['| System | Client | msg/s c=1 | msg/s c=4 | latency p50 / p99 c=1 (ms) | latency p50 / p99 c=4 (ms) | Memory |',
         '|---|---|---|---|---|---|---|']
summary = {}
systems = [('scilla', 'Scilla scillad', 'drive.py, HTTP POST /checkv2',
            'scillad RSS %.0f MiB after the runs (peak %.0f MiB), one process' % (mem['scillad_rss_kib'] / 1024, mem['scillad_hwm_kib'] / 1024)),
           ('bogofilter', 'bogofilter', 'drive.py, one `bogofilter -T` process per message',
            'max RSS %.1f MiB per process (%.1f MiB for the whole split in one `-B` process)' % (mem['bogofilter_one_msg_max_rss_kib'] / 1024, mem['bogofilter_bulk_max_rss_kib'] / 1024))]
if sa_bench:
    sm_ = next((b for b in sa_bench if b.get('tag') == 'rss_after_bench'), {})
    only_score = not any(b.get('tag', '').startswith('sa c=') and 'scoring pass' not in b['tag'] for b in sa_bench)
    systems.append(('sa', 'SpamAssassin spamd' + sa_note, 'drive.py, one `spamc -c` process per message%s%s' % (
                        ' (the scoring pass only)' if only_score else '',
                        '' if sa_note else ' (after the others, scillad stopped)'),
                    'spamd RSS %.0f MiB (parent + 4 children)' % (sm_.get('spamd_rss_kib', 0) / 1024)))
for key, label, client, memtxt in systems:
    s = {c: dict(msgs_per_s=med(key, c, 'msgs_per_s'), p50_ms=med(key, c, 'p50_ms'), p99_ms=med(key, c, 'p99_ms'),
                 runs=len(runs(key, c)), errors=sum(b.get('errors', 0) for b in runs(key, c))) for c in (1, 4)}
    summary[key] = s
    f = lambda x: '-' if x != x else '%.1f' % x  # NaN: not measured
    speed.append('| %s | %s | %s | %s | %s / %s | %s / %s | %s |' % (
        label, client, f(s[1]['msgs_per_s']), f(s[4]['msgs_per_s']), f(s[1]['p50_ms']), f(s[1]['p99_ms']),
        f(s[4]['p50_ms']), f(s[4]['p99_ms']), memtxt))
if runs('bogobulk', 1):
    speed.append('| bogofilter, classifier alone | `bogofilter -T -B`: c processes, each on 1/c of the files (no protocol, no process per message) | %.1f | %.1f | - | - | " |' % (
        med('bogobulk', 1, 'msgs_per_s'), med('bogobulk', 4, 'msgs_per_s')))
    summary['bogofilter_bulk'] = {c: dict(msgs_per_s=med('bogobulk', c, 'msgs_per_s')) for c in (1, 4)}
r1 = summary['scilla'][1]['msgs_per_s'] / summary['bogofilter'][1]['msgs_per_s']
r4 = summary['scilla'][4]['msgs_per_s'] / summary['bogofilter'][4]['msgs_per_s']
speed.append('| **ratio Scilla / bogofilter** | same client, same run | **%.2f×** | **%.2f×** | %.2f× / %.2f× | %.2f× / %.2f× | %.1f× (scillad RSS / one bogofilter process) |' % (
    r1, r4,
    summary['scilla'][1]['p50_ms'] / summary['bogofilter'][1]['p50_ms'], summary['scilla'][1]['p99_ms'] / summary['bogofilter'][1]['p99_ms'],
    summary['scilla'][4]['p50_ms'] / summary['bogofilter'][4]['p50_ms'], summary['scilla'][4]['p99_ms'] / summary['bogofilter'][4]['p99_ms'],
    mem['scillad_rss_kib'] / mem['bogofilter_one_msg_max_rss_kib']))
errors = sum(b.get('errors', 0) for b in bench if 'errors' in b)

lic = next((b['recipients'] for b in bench if b.get('tag') == 'license'), None)


def started(r):
    # run_id is the UTC start time, then the shell's pid: 20261122T090045-3891
    t = r.get('run_id', '?')
    return '%s-%s-%sT%s:%s:%sZ' % (t[0:4], t[4:6], t[6:8], t[9:11], t[11:13], t[13:15]) if len(t) > 15 and t[8] == 'T' else t


head = [
    'Run %s to %s at commit `%s`%s with %s; %d CPUs (%s), load average %s at the end of the run '
    '(the machine is shared with other jobs); Scilla and bogofilter throughput is the median of %d runs per system, interleaved '
    'so that every system sees the same background load. Test split: %d spam, %d ham. '
    'scillad reported `%s`%s; licence outcomes per recipient over all passes: %s. '
    'DNS queries from scillad to the loopback sink: %d. Failed requests over all passes: %d.' % (
        started(run), run['date'], run['commit'][:12],
        ' (plus %d uncommitted files under server/ updater/ internal/ proto/)' % run['dirty_files'] if run['dirty_files'] else '',
        run['go'], run['cpus'], run['cpu'], run['loadavg'], run['repeats'], sv['spam_only']['n_spam'], sv['spam_only']['n_ham'], dbv,
        ' (embedded manifest sha256 %s…)' % run['db_manifest_sha256'] if run.get('db_manifest_sha256') else '',
        ', '.join('%s %d' % kv for kv in sorted(lic.items())) if lic else 'not read',
        mem['scillad_dns_queries'], errors),
    '',
]
warn = []
if 'database none' in dbv:
    warn.append('**scillad ran without its content database** (it reported `%s`): the daemon at this commit does not '
                'load the embedded database, so its rows measure the built-in checks alone. The "Scilla engine in-process" '
                'rows are the same engine with the embedded database.' % dbv)
lic = next((b['recipients'] for b in bench if b.get('tag') == 'license'), None)
if lic is None:
    warn.append('scillad\'s licence counters were not read: it is unknown whether every recipient was filtered.')
elif lic.get('limit_exceeded', 0) or lic.get('no_license', 0):
    warn.append('**scillad passed recipients unfiltered for licence reasons** (%s): its figures understate it.' % json.dumps(lic))
if sv['errors']:
    warn.append('**%d of %d scans through /checkv2 failed** (HTTP 503; see scillad.log). score.py leaves them out '
                '(its n is %d); the status rows count them as not flagged, as a mail server would deliver them.' % (
                    sv['errors'], sm['n'] + sm['errors'], sm['n']))
if sarun:
    head[0] += ' SpamAssassin: %d timed pass(es) per concurrency (SA_REPEATS), plus the scoring pass.' % sarun.get('repeats', 0)
if warn:
    head += ['Warnings for this run:', ''] + ['* ' + w for w in warn] + ['']
block = head + ['### Accuracy', ''] + acc + ['', '### Speed', ''] + speed
summary.update(run=run, probe=probe, memory=mem, ratio_msgs_per_s=dict(c1=round(r1, 3), c4=round(r4, 3)),
               accuracy=[dict(zip(['system', 'recall', 'ham_fpr', 'recall_at_fpr_0.1', 'recall_at_fpr_0.5', 'auc'], r)) for r in rows])
json.dump(summary, open(os.path.join(res, 'summary.json'), 'w'), indent=1)

B, E = '<!-- BEGIN RESULTS (bench/anchors/report.py) -->', '<!-- END RESULTS -->'
text = open(doc).read() if os.path.exists(doc) else '# Benchmarks\n\n%s\n%s\n' % (B, E)
i, j = text.index(B) + len(B), text.index(E)
open(doc, 'w').write(text[:i] + '\n' + '\n'.join(block) + '\n' + text[j:])
print('\n'.join(block))
