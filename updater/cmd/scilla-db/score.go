package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/scilla-mail/scilla/server/check"
	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/policy"
)

// runScore rates one message from stdin through the engine and prints
// "score status": the --cmd protocol of the anchor benchmark's drive.py.
func runScore(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	dbDir := fs.String("db", "", "database bundle directory (default: the embedded database)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var db *contentdb.DB
	var err error
	if *dbDir == "" {
		db, err = contentdb.Default()
	} else {
		db, err = contentdb.LoadDir(*dbDir, nil)
	}
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("score: read message: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := engine.New(engine.Options{Checks: check.All(check.Deps{Log: log}), Log: log},
		&engine.Snapshot{Policy: policy.Default(), DB: db})
	v, err := e.Scan(context.Background(), "score", corpusEnvelope(), raw)
	if err != nil {
		return err
	}
	gv := v.Groups[0]
	fmt.Fprintf(out, "%.2f %s\n", gv.Score, gv.Status)
	return nil
}
