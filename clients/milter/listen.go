package milter

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scilla-mail/scilla/internal/rawconn"
)

// Listen opens the milter socket. addr is "unix:/path", "inet:host:port"
// (Postfix spelling), "inet:port@host" (Sendmail spelling), "inet6:..." or
// "tcp:host:port". A stale unix socket file is replaced and the new one gets
// mode perm (the MTA's user must be able to connect).
func Listen(addr string, perm fs.FileMode) (net.Listener, error) {
	network, a, err := ParseListenAddress(addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if fi, err := os.Lstat(a); err == nil && fi.Mode()&fs.ModeSocket != 0 {
			// Refuse to steal a socket another milter is still serving.
			if c, err := net.DialTimeout("unix", a, time.Second); err == nil {
				c.Close()
				return nil, fmt.Errorf("listen %s: another process is serving this socket", addr)
			}
			_ = os.Remove(a)
		}
	}
	ln, err := net.Listen(network, a)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if network == "unix" {
		if err := os.Chmod(a, perm); err != nil {
			ln.Close()
			return nil, fmt.Errorf("chmod %s: %w", a, err)
		}
	}
	return ln, nil
}

// ParseListenAddress turns a milter socket spec into a Go network and
// address.
func ParseListenAddress(addr string) (network, address string, err error) {
	kind, rest, ok := strings.Cut(addr, ":")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("milter socket %q: want unix:/path, inet:host:port or inet:port@host", addr)
	}
	switch strings.ToLower(kind) {
	case "unix", "local":
		return "unix", rest, nil
	case "inet", "inet6", "tcp":
		if port, host, ok := strings.Cut(rest, "@"); ok { // Sendmail: port@host
			if _, err := strconv.ParseUint(port, 10, 16); err != nil {
				return "", "", fmt.Errorf("milter socket %q: bad port %q", addr, port)
			}
			return "tcp", net.JoinHostPort(host, port), nil
		}
		if _, _, err := net.SplitHostPort(rest); err != nil {
			return "", "", fmt.Errorf("milter socket %q: %w", addr, err)
		}
		return "tcp", rest, nil
	}
	return "", "", fmt.Errorf("milter socket %q: unknown kind %q (want unix, inet or tcp)", addr, kind)
}

// Serve runs milter sessions on ln until Close or Shutdown.
//
// Every connection's writes are batched and sent when the session next
// reads: the end-of-message reply (a dozen header changes and the final
// answer) leaves in one segment instead of two small writes per packet.
// Connections are accepted and closed through rawconn.AcceptListener:
// Postfix opens one per SMTP session, and accepting and closing them
// through net would wake the runtime's monitor thread twice for each.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(batchListener{rawconn.AcceptListener(ln), s.idle})
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

type batchListener struct {
	net.Listener
	idle time.Duration
}

func (l batchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// Accepted through rawconn.AcceptListener: raw-syscall reads and
	// writes, and on TCP no Nagle delay.
	raw := &socketReader{c: c, idle: l.idle}
	if _, tcp := c.LocalAddr().(*net.TCPAddr); tcp {
		if sc, ok := c.(syscall.Conn); ok {
			raw.tcp, _ = sc.SyscallConn()
		}
	}
	return &batchConn{Conn: c, sr: raw, r: &frameGuard{r: bufio.NewReaderSize(raw, 4<<10)}, w: bufio.NewWriterSize(c, 4<<10)}, nil
}

// Timeouts of a milter connection. Postfix keeps the connection for the
// whole SMTP session, so a peer silent for idleTimeout is gone.
const (
	idleTimeout  = 15 * time.Minute
	writeTimeout = 30 * time.Second
)

// socketReader reads from the MTA's socket. It keeps a coarse idle
// deadline (re-armed at most once a minute, not per packet) and, on TCP,
// re-arms TCP_QUICKACK before every read: with the no-reply protocol
// options the MTA sends several small packets (macros, then the command;
// header after header) without waiting for an answer, its Nagle algorithm
// holds each one until the previous is acknowledged, and a delayed ACK on
// our side would stall every message by up to 40 ms.
type socketReader struct {
	c     net.Conn
	tcp   syscall.RawConn // nil unless TCP
	idle  time.Duration
	armed time.Time
}

func (s *socketReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(s.armed) > time.Minute {
		s.arm(now)
	}
	if s.tcp != nil {
		setQuickAck(s.tcp)
	}
	return s.c.Read(p)
}

// arm sets the idle deadline from now.
func (s *socketReader) arm(now time.Time) {
	_ = s.c.SetReadDeadline(now.Add(s.idle))
	s.armed = now
}

// maxPacket bounds one milter packet. Postfix sends body chunks of at most
// 64 KB and headers of at most header_size_limit (100 KB); the milter
// library itself would allocate up to 512 MB for a length it is handed.
const maxPacket = 4 << 20

// frameGuard reads whole milter packets and checks them before the milter
// library sees them. The library panics (killing the process) on a zero
// length, on connect packets without the family byte and on MAIL or RCPT
// packets without the terminating NUL, and it trusts lengths up to 512 MB.
// A bad packet ends the connection instead.
type frameGuard struct {
	r   *bufio.Reader
	pkt []byte // the current packet, prefix included
	off int    // how much of pkt was handed out
}

func (g *frameGuard) Read(p []byte) (int, error) {
	if g.off == len(g.pkt) {
		hdr, err := g.r.Peek(4)
		if err != nil {
			if len(hdr) > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		n := binary.BigEndian.Uint32(hdr)
		if n == 0 || n > maxPacket {
			return 0, fmt.Errorf("milter: packet length %d out of range 1..%d", n, maxPacket)
		}
		if cap(g.pkt) < int(n)+4 {
			g.pkt = make([]byte, int(n)+4)
		}
		g.pkt, g.off = g.pkt[:int(n)+4], 0
		if _, err := io.ReadFull(g.r, g.pkt); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if err := checkPacket(g.pkt[4], g.pkt[5:]); err != nil {
			return 0, err
		}
	}
	n := copy(p, g.pkt[g.off:])
	g.off += n
	return n, nil
}

// checkPacket rejects packets the milter library cannot parse safely.
func checkPacket(code byte, data []byte) error {
	switch code {
	case 'C': // hostname NUL, family, [port, address]
		i := bytes.IndexByte(data, 0)
		if i < 0 || i+1 >= len(data) {
			return errors.New("milter: malformed connect packet")
		}
	case 'M', 'R': // address NUL [args NUL...]
		if bytes.IndexByte(data, 0) < 0 {
			return fmt.Errorf("milter: malformed %c packet", code)
		}
	}
	return nil
}

func (g *frameGuard) Buffered() int { return len(g.pkt) - g.off + g.r.Buffered() }

// batchConn buffers reads (the milter library reads a packet's length
// and body separately) and buffers writes until the next Read (or Close).
// The milter protocol is strictly request/response, so everything written
// before a read belongs to one answer.
type batchConn struct {
	net.Conn
	sr *socketReader
	r  *frameGuard
	mu sync.Mutex
	w  *bufio.Writer
	// wArmed is when the write deadline was last set (under mu).
	wArmed time.Time
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) > c.w.Available() { // goes to the socket now
		c.armWrite()
	}
	return c.w.Write(p)
}

func (c *batchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w.Buffered() == 0 {
		return nil
	}
	c.armWrite()
	return c.w.Flush()
}

// armWrite makes sure a write starting now ends within writeTimeout (less
// at most a second). The deadline is left in place and re-armed only when
// it is more than a second old, not set and cleared around every write.
// Call with mu held.
func (c *batchConn) armWrite() {
	if now := time.Now(); now.Sub(c.wArmed) > time.Second {
		_ = c.Conn.SetWriteDeadline(now.Add(writeTimeout))
		c.wArmed = now
	}
}

func (c *batchConn) Read(p []byte) (int, error) {
	if c.r.Buffered() == 0 {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return c.r.Read(p)
}

// SetReadDeadline passes the library's deadline on; when the library
// clears it (go-milter does after negotiating, with no read timeout of its
// own) the idle deadline takes its place at once, so a peer that negotiates
// and then says nothing is still dropped after the idle time.
func (c *batchConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.sr.arm(time.Now())
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *batchConn) Close() error {
	_ = c.flush()
	return c.Conn.Close()
}
