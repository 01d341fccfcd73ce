// Package cgp is scilla-cgp, a CommuniGate Pro External Filter helper.
//
// CommuniGate starts the helper and talks to it over stdin/stdout: an INTF
// handshake, then "<seq> FILE <queue file>" requests, answered in any order
// while up to max_thread_count messages are scanned at once, and QUIT. The
// helper reads the queue file (envelope lines, then the message), scans it
// and answers:
//
//	<seq> OK                      deliver as is
//	<seq> ADDHEADER "<h>\e<h>" OK deliver with the verdict headers added
//	<seq> DISCARD                 drop (policy delete, or a modified copy was resubmitted)
//	<seq> REJECTED <text>         bounce (policy reject; on_error reject)
//	<seq> FAILURE                 try later (on_error tempfail; unreadable queue file)
//	<seq> ERROR <text>            the request itself was malformed
//
// CommuniGate can only add headers to the message it holds. Anything more
// (a subject tag, forged verdict headers to strip, copy and redirect
// recipients, recipients whose group rejected) makes the helper write a
// modified copy into the Submitted folder (as .tmp, then renamed .sub, with
// Return-Path and Envelope-To lines) carrying an HMAC-signed loop header,
// answer DISCARD for the original, and pass the copy with OK when it comes
// back. Recipients refused while others accept get a bounce, resubmitted
// the same way.
package cgp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scilla-mail/scilla/clients"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// seqReserve stands for the sequence number and separators of a reply.
const seqReserve = "12345678901234567890 \n"

// InterfaceVersion is the highest External Filter interface version the
// helper speaks; it answers INTF with the lower of this and the server's.
const InterfaceVersion = 3

// Checker scans one message; *clients.Client is one.
type Checker interface {
	Check(ctx context.Context, env *scillav1.Envelope, msg []byte, requestID string) *clients.Plan
}

// Filter serves one CommuniGate helper session.
type Filter struct {
	Config Config
	Client Checker
	Loop   *LoopSigner
	Log    *slog.Logger
	// BaseDir is CommuniGate's base directory; queue file paths and a
	// relative submitted_folder are taken from it ("" = working directory).
	BaseDir  string
	Hostname string
	Now      func() time.Time

	// Out receives the replies (CommuniGate reads the helper's stdout).
	Out io.Writer

	mu  sync.Mutex
	out *bufio.Writer
}

// LogWriter returns a writer that sends each line as an information
// response ("* text"), which CommuniGate records in its log. Helpers must
// not write to stderr.
func (f *Filter) LogWriter() io.Writer { return logWriter{f} }

type logWriter struct{ f *Filter }

// Write sends every line of p as an information response.
func (w logWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.f.reply("*", l)
	}
	return len(p), nil
}

func (f *Filter) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Serve reads requests from in and writes replies to f.Out until QUIT, the
// end of in, or ctx is done; requests in progress are finished first.
func (f *Filter) Serve(ctx context.Context, in io.Reader) error {
	sem := make(chan struct{}, f.Config.MaxThreadCount)
	var wg sync.WaitGroup
	defer wg.Wait()
	br := bufio.NewReaderSize(in, maxLine+2)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Too long for a request: skip to the end of the line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			f.Log.Warn("request line too long, skipped")
			f.reply("*", "scilla-cgp: request line too long, skipped")
			if err != nil {
				break
			}
			continue
		}
		if err != nil && len(line) == 0 {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read requests: %w", err)
		}
		cmd, err := ParseCommand(string(line))
		if err != nil {
			f.Log.Warn("bad request", "err", err)
			if cmd.Seq != "" {
				f.reply(cmd.Seq, "ERROR "+oneLine(err.Error()))
			} else {
				f.reply("*", "scilla-cgp: "+oneLine(err.Error()))
			}
			continue
		}
		switch cmd.Name {
		case "INTF":
			v, err := strconv.Atoi(cmd.Arg)
			if err != nil || v < 1 {
				f.reply(cmd.Seq, "ERROR bad interface version")
				continue
			}
			f.reply(cmd.Seq, "INTF "+strconv.Itoa(min(v, InterfaceVersion)))
		case "FILE":
			if cmd.Arg == "" {
				f.reply(cmd.Seq, "ERROR FILE needs a file name")
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				f.reply(cmd.Seq, f.handleFile(ctx, cmd.Arg))
			}()
		case "QUIT":
			wg.Wait()
			f.reply(cmd.Seq, "OK")
			return nil
		default:
			f.reply(cmd.Seq, "ERROR unknown command "+clip(cmd.Name))
		}
	}
	return nil
}

// reply writes one response line and flushes it: CommuniGate reads a pipe.
func (f *Filter) reply(seq, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out == nil {
		f.out = bufio.NewWriter(f.Out)
	}
	f.out.WriteString(seq + " " + text + "\n")
	f.out.Flush()
}

// handleFile scans one queue file and returns the reply without the
// sequence number.
func (f *Filter) handleFile(ctx context.Context, name string) (reply string) {
	log := f.Log.With("file", name)
	defer func() {
		if p := recover(); p != nil {
			log.Error("internal error", "panic", fmt.Sprint(p))
			reply = "FAILURE"
		}
	}()
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.BaseDir, path)
	}
	fh, err := os.Open(path)
	if err != nil {
		log.Error("cannot open queue file", "err", err)
		return "FAILURE"
	}
	qf, err := ReadQueueFile(fh, int64(f.Config.MaxMessage))
	fh.Close()
	if err != nil {
		log.Error("cannot read queue file", "err", err)
		if errors.Is(err, ErrQueueFile) {
			return "ERROR " + oneLine(err.Error())
		}
		return "FAILURE"
	}
	env := qf.Envelope
	if !f.Config.AllTransports && env.Source != "" && env.Source != "SMTP" {
		log.Debug("not scanned: source transport", "source", env.Source)
		return "OK"
	}
	if qf.Oversize {
		log.Info("message over max_message, not scanned")
		return "ADDHEADER " + Quote([]string{clients.InfoHeader + ": " + clients.NotProcessed}) + " OK"
	}
	msg := qf.Message
	forged := false
	if v, ok := clients.HeaderValue(msg, f.Config.LoopHeader); ok {
		if f.Loop.Verify(strings.TrimSpace(v), Body(msg)) {
			log.Debug("own resubmitted copy")
			return "OK"
		}
		forged = true
		log.Warn("forged or stale loop header: stripped, message scanned")
	}
	queueID := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	senv := &scillav1.Envelope{
		ClientIp: env.ClientIP,
		MailFrom: env.From,
		RcptTo:   slices.Clone(env.To),
		AuthUser: env.AuthUser,
		QueueId:  queueID,
		MtaKind:  scillav1.MtaKind_MTA_KIND_CGP,
		MtaHost:  f.Hostname,
	}
	plan := f.Client.Check(ctx, senv, msg, queueID)
	log = log.With("scan_id", plan.ScanID, "queue_id", queueID)
	switch plan.Outcome {
	case clients.Reject:
		log.Info("rejected", "reply", plan.Reply.String())
		return "REJECTED " + oneLine(plan.Reply.Text)
	case clients.TempFail:
		log.Warn("not scanned, try later", "err", plan.Err)
		return "FAILURE"
	case clients.Discard:
		log.Info("discarded by policy")
		return "DISCARD"
	}
	edits := plan.Merged
	resubmit := forged || edits.SubjectPrefix != "" || len(plan.AddRecipients) > 0 ||
		len(plan.DeleteRecipients) > 0 || len(plan.PartialReject) > 0 ||
		!bytes.Equal(clients.Edits{StripHeaders: edits.StripHeaders}.Apply(msg), msg)
	if !resubmit {
		if len(edits.AddHeaders) == 0 {
			return "OK"
		}
		lines := make([]string, 0, len(edits.AddHeaders))
		for _, h := range edits.AddHeaders {
			lines = append(lines, h.Name+": "+h.Value)
		}
		// CommuniGate takes response lines of at most 4096 bytes; longer
		// header sets go the resubmission way.
		if r := "ADDHEADER " + Quote(lines) + " OK"; len(r)+len(seqReserve) < maxLine {
			log.Info("tagged in place", "headers", len(lines))
			return r
		}
	}
	if err := f.resubmit(log, msg, env, plan); err != nil {
		log.Error("cannot resubmit the modified copy", "err", err)
		return "FAILURE"
	}
	return "DISCARD"
}

// resubmit writes the modified copy (and a bounce for partially rejected
// recipients) into the Submitted folder.
func (f *Filter) resubmit(log *slog.Logger, msg []byte, env Envelope, plan *clients.Plan) error {
	drop := map[string]bool{}
	for _, r := range plan.DeleteRecipients {
		drop[strings.ToLower(r)] = true
	}
	for _, g := range plan.PartialReject {
		for _, r := range g.Recipients {
			drop[strings.ToLower(r)] = true
		}
	}
	var to []string
	for _, r := range append(slices.Clone(env.To), plan.AddRecipients...) {
		if !drop[strings.ToLower(r)] && !slices.Contains(to, r) {
			to = append(to, r)
		}
	}
	if len(plan.PartialReject) > 0 && env.From != "" {
		host := f.Config.BounceHost
		if host == "" {
			host = f.Hostname
		}
		bounce := clients.BounceMessage(host, env.From, f.now(), msg, plan.PartialReject)
		if err := f.submit("", []string{env.From}, bounce); err != nil {
			return fmt.Errorf("bounce: %w", err)
		}
		log.Info("bounce resubmitted for rejected recipients", "to", env.From, "groups", len(plan.PartialReject))
	}
	if len(to) == 0 {
		log.Info("no recipient left after the verdict")
		return nil
	}
	edits := plan.Merged
	edits.StripHeaders = append(slices.Clone(edits.StripHeaders), f.Config.LoopHeader)
	out := edits.Apply(msg)
	out = clients.Edits{AddHeaders: []clients.Header{{Name: f.Config.LoopHeader, Value: f.Loop.Sign(Body(out))}}}.Apply(out)
	if err := f.submit(env.From, to, out); err != nil {
		return err
	}
	log.Info("modified copy resubmitted", "rcpts", len(to), "subject_prefix", edits.SubjectPrefix != "")
	return nil
}

// submit writes one message for CommuniGate's PIPE module: written as .tmp
// and renamed to .sub only when complete, so CommuniGate never picks up a
// partial file.
func (f *Filter) submit(from string, to []string, msg []byte) error {
	dir := f.Config.SubmittedFolder
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(f.BaseDir, dir)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	base := filepath.Join(dir, fmt.Sprintf("scilla-%d-%s", f.now().UnixNano(), hex.EncodeToString(rnd[:])))
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\n", from)
	for _, r := range to {
		fmt.Fprintf(&b, "Envelope-To: %s\n", r)
	}
	b.Write(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	if err := os.WriteFile(base+".tmp", b.Bytes(), 0o660); err != nil {
		return fmt.Errorf("write submitted file: %w", err)
	}
	if err := os.Rename(base+".tmp", base+".sub"); err != nil {
		os.Remove(base + ".tmp")
		return fmt.Errorf("rename submitted file: %w", err)
	}
	return nil
}
