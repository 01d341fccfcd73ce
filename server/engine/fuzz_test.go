package engine_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/scilla-mail/scilla/server/engine"
)

// FuzzScan feeds arbitrary messages to every check of the engine with the
// default database (defaultEngine): no input may crash a check, and every
// group must get a verdict with a finite score.
func FuzzScan(f *testing.F) {
	e := defaultEngine(f)
	files, _ := filepath.Glob(filepath.Join("testdata", "modern", "*", "*.eml"))
	// Today's phishing and fraud: share notices, CJK spam, directory traps,
	// Greek and Swahili phishing.
	for _, sets := range []string{"heldout2[5-9]", "heldout3[0-9]", "heldout4[0-9]", "heldout5[0-9]", "heldout6[0-9]"} {
		recent, _ := filepath.Glob(filepath.Join("testdata", sets, "spam", "*.eml"))
		files = append(files, recent...)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Subject: =?utf-8?B?\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<a href=http://1.2.3.4/ >FREE</a>\r\n"))
	f.Add([]byte("From: \"\" <@>\r\nTo: ,,,\r\nReceived: from [\r\n\r\n\x00\xff"))
	env := &engine.Envelope{Rcpts: []string{"jane.doe@example.org"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := e.Scan(context.Background(), "fuzz", env, raw)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if len(v.Groups) == 0 {
			t.Fatal("no group verdict")
		}
		for _, g := range v.Groups {
			if math.IsNaN(g.Score) || math.IsInf(g.Score, 0) {
				t.Fatalf("score %v, signs %v", g.Score, g.Signs)
			}
		}
	})
}
