#!/usr/bin/env python3
"""Scilla's default verdicts from a drive.py score TSV whose verdict column is
the scilla_status field of scillad's /checkv2 answer (drive.py turns spaces
into underscores: SPAM, Probable_Spam, Not_detected, Formal, Trusted,
Blacklisted).

score.py measures score thresholds; this counts what scillad decided, which is
what a mail server acts on (the status follows precedence rules, not the score
alone, and the /checkv2 score is rounded to one decimal). Unlike score.py,
which leaves errors out, a failed scan counts here as "not flagged" (what a
mail server does when the filter fails), so recall is over every test spam.

  verdicts.py scores.tsv      -> JSON on stdout
Operating points:
  spam_only          = SPAM or Blacklisted counted as spam
  spam_or_probable   = SPAM, Blacklisted or Probable_Spam counted as spam
                       (scillad's default: spamd.probable_spam_is_spam)
"""
import collections, json, sys

SPAM = {'SPAM', 'Blacklisted'}
PROBABLE = {'Probable_Spam'}

counts = {'spam': collections.Counter(), 'ham': collections.Counter()}
with open(sys.argv[1]) as fh:
    hdr = fh.readline().rstrip('\n').split('\t')
    for line in fh:
        f = dict(zip(hdr, line.rstrip('\n').split('\t')))
        counts[f['label']][f['verdict']] += 1


def point(positive):
    # A failed scan (drive.py's "error": no answer or HTTP 503) counts as not
    # flagged, as a mail server delivers the message unflagged then.
    S = sum(counts['spam'].values())
    H = sum(counts['ham'].values())
    tp = sum(n for v, n in counts['spam'].items() if v in positive)
    fp = sum(n for v, n in counts['ham'].items() if v in positive)
    return dict(spam_recall=round(tp / S, 4), ham_fpr=round(fp / H, 4), tp=tp, fp=fp, n_spam=S, n_ham=H)


print(json.dumps(dict(
    file=sys.argv[1],
    counts={l: dict(sorted(c.items())) for l, c in counts.items()},
    errors=counts['spam']['error'] + counts['ham']['error'],
    spam_only=point(SPAM),
    spam_or_probable=point(SPAM | PROBABLE),
), indent=1))
