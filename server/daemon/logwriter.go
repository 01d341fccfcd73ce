package daemon

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogWriter batches log output: lines are written together at most delay
// after the first of them (or at once when 32 KB are waiting), instead of
// one write per line. At hundreds of scans a second, with one "scanned"
// line each, a write per line is a noticeable share of scillad's CPU and
// wakes the log reader (journald, a pipe) for every message. NewLogger
// flushes after every record at WARN or above, so problems are never held
// back; call Flush before the process exits.
type LogWriter struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	delay   time.Duration
	timer   *time.Timer
	pending bool // timer armed
}

// logBatchBytes is how much output waits at most before it is written.
const logBatchBytes = 32 << 10

// NewLogWriter returns a LogWriter writing to w.
func NewLogWriter(w io.Writer, delay time.Duration) *LogWriter {
	l := &LogWriter{w: w, delay: delay}
	l.timer = time.AfterFunc(time.Hour, func() { _ = l.Flush() })
	l.timer.Stop()
	return l
}

// Write buffers p (one whole log record, as slog hands them over).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) >= logBatchBytes {
		return len(p), l.flushLocked()
	}
	if !l.pending {
		l.pending = true
		l.timer.Reset(l.delay)
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *LogWriter) flushLocked() error {
	if l.pending {
		l.timer.Stop()
		l.pending = false
	}
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

// flushOnWarn flushes the log output after every record at WARN or above.
type flushOnWarn struct {
	slog.Handler
	f interface{ Flush() error }
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		_ = h.f.Flush()
	}
	return err
}

func (h flushOnWarn) WithAttrs(as []slog.Attr) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithAttrs(as), f: h.f}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithGroup(name), f: h.f}
}
