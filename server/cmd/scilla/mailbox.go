package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/scilla-mail/scilla/internal/mbox"
)

// maxMessage is the largest message read from a file or mailbox.
const maxMessage = 64 << 20

// eachMessage calls fn with every message named by paths: a message file,
// a mailbox file (mbox: it starts with a "From " line), a directory (every
// file below it, as in a Maildir, leaving out hidden entries and Maildir's
// tmp/), or "-" for standard input.
func eachMessage(paths []string, fn func(msg []byte) error) error {
	for _, p := range paths {
		if p == "-" {
			if err := eachInFile("standard input", os.Stdin, fn); err != nil {
				return err
			}
			continue
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && (strings.HasPrefix(d.Name(), ".") || (d.IsDir() && d.Name() == "tmp")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return eachInFile(path, f, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachInFile reads one file: a mailbox when its first line is an mbox
// separator, else one message.
func eachInFile(name string, r io.Reader, fn func([]byte) error) error {
	br := bufio.NewReader(r)
	head, _ := br.Peek(5)
	if !mbox.IsSeparator(head) {
		msg, err := io.ReadAll(io.LimitReader(br, maxMessage+1))
		switch {
		case err != nil:
			return fmt.Errorf("read %s: %w", name, err)
		case len(msg) > maxMessage:
			return fmt.Errorf("read %s: %w: over %d bytes", name, mbox.ErrTooLarge, maxMessage)
		case len(bytes.TrimSpace(msg)) == 0:
			return nil
		}
		return fn(msg)
	}
	mr := mbox.NewReader(br, maxMessage)
	for i := 1; ; i++ {
		msg, err := mr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s, message %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(msg)) == 0 {
			continue
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
}
