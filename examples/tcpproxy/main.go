// Tcpproxy is a debugging TCP proxy: it listens on 127.0.0.1, forwards each
// connection to a backend, and logs every chunk with its direction and a
// timestamp, as printable text or as a hex dump (-hex), like the classic C
// proxy built on poll.
//
// Each connection's two sockets live in one Scope, with the two goroutines
// that copy between them. A side that finishes sending (EOF) is passed on as
// a half-close (CloseWrite), so a client that shuts down its sending side
// still reads the reply; both sockets close when both directions are done,
// on the first error, or when the proxy stops. The proxy leaks neither
// sockets nor goroutines.
//
// With no flags it starts an echo backend of its own, sends two messages
// through the proxy, prints the log, and exits:
//
//	go -C examples run ./tcpproxy
//	go -C examples run ./tcpproxy -listen 127.0.0.1:9000 -backend 127.0.0.1:5432 -hex
//
// Ctrl-C or SIGTERM is reported, closes every connection, and exits 0.
// Addresses that are not host:port, unknown flags and arguments are usage
// errors (exit 2); -h exits 0.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/examples/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Proxy forwards connections to Backend and logs what passes.
type Proxy struct {
	Backend string
	Hex     bool

	mu  sync.Mutex
	log io.Writer
	ids int
}

// Serve accepts connections on ln until ctx is done or ln fails, and handles
// each in a goroutine that an owning Scope waits for before Serve returns.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	s := scope.New(ctx)
	s.SetCancelOnError(false) // one connection's failure is not the others'
	defer s.Unwind(&err)
	defer cancel() // runs first: Serve is returning, so its goroutines stop
	s.Go(func(ctx context.Context) error {
		<-ctx.Done() // Serve is returning: stop accepting
		return ignoreClosed(ln.Close())
	})
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		p.mu.Lock()
		p.ids++
		id := p.ids
		p.mu.Unlock()
		s.Go(func(ctx context.Context) error {
			if err := p.handle(ctx, id, conn); err != nil {
				p.logf(id, "error: %v", err)
			}
			return nil
		})
	}
}

// handle proxies one connection until both directions are done, one fails,
// or ctx is done.
func (p *Proxy) handle(ctx context.Context, id int, client net.Conn) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	s.Defer(func() error { return ignoreClosed(client.Close()) })
	backend, err := scope.Enter(&s, dial(ctx, p.Backend))
	if err != nil {
		return err
	}
	p.logf(id, "open %s -> %s", client.RemoteAddr(), p.Backend)
	s.Defer(func() error { p.logf(id, "closed"); return nil })

	// Closing both sockets ends both directions: on an error in either,
	// and when the proxy stops.
	closeBoth := func() { client.Close(); backend.Close() }
	stop := context.AfterFunc(ctx, closeBoth)
	s.Defer(func() error { stop(); return nil })
	s.Go(func(context.Context) error { return p.pipe(id, "->", backend, client, closeBoth) })
	s.Go(func(context.Context) error { return p.pipe(id, "<-", client, backend, closeBoth) })
	return nil // the Scope waits for both directions, then closes the sockets
}

// dial is a Manager for a connection to addr.
func dial(ctx context.Context, addr string) scope.Manager[net.Conn] {
	return scope.Func(func() (net.Conn, error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		return d.DialContext(ctx, "tcp", addr)
	}, func(c net.Conn, _ error) error { return ignoreClosed(c.Close()) })
}

// pipe copies from src to dst, logging each chunk, until src ends; then it
// half-closes dst, so that its peer sees the end of what src sent and can
// still answer. On an error it closes both sockets (fail), which ends the
// other direction too.
func (p *Proxy) pipe(id int, dir string, dst, src net.Conn, fail func()) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.chunk(id, dir, buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				fail()
				return ignoreClosed(werr)
			}
		}
		if errors.Is(err, io.EOF) {
			p.logf(id, "%s end of stream", dir)
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				if err := cw.CloseWrite(); err != nil {
					fail() // the peer is gone: nothing more can pass
				}
				return nil
			}
			fail()
			return nil
		}
		if err != nil {
			fail()
			return ignoreClosed(err)
		}
	}
}

func (p *Proxy) chunk(id int, dir string, b []byte) {
	if p.Hex {
		p.logf(id, "%s %d bytes\n%s", dir, len(b), strings.TrimRight(hex.Dump(b), "\n"))
		return
	}
	p.logf(id, "%s %d bytes %q", dir, len(b), b)
}

func (p *Proxy) logf(id int, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log != nil {
		fmt.Fprintf(p.log, "%s #%d %s\n", time.Now().Format("15:04:05.000000"), id, fmt.Sprintf(format, args...))
	}
}

// ignoreClosed drops the error of using a socket that the other direction
// already closed: that is how a proxied connection ends.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tcpproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "the `host:port` to listen on")
	backend := fs.String("backend", "", "the `host:port` to forward to (default: an echo server of its own)")
	hexDump := fs.Bool("hex", false, "log chunks as hex dumps")
	if code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	bad := checkAddr("-listen", *listen)
	if bad == nil && *backend != "" {
		bad = checkAddr("-backend", *backend)
	}
	if bad != nil {
		return cli.Usage(fs, bad.Error())
	}
	if err := proxy(ctx, *listen, *backend, *hexDump, stdout); err != nil {
		fmt.Fprintln(stderr, "tcpproxy:", err)
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "tcpproxy: interrupted: every connection is closed")
	}
	return 0
}

// checkAddr checks that addr is a host:port with a valid port.
func checkAddr(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return fmt.Errorf("%s %q: not a host:port address: %v", flag, addr, err)
	}
	return nil
}

func proxy(ctx context.Context, listen, backend string, hexDump bool, stdout io.Writer) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	s := scope.New(ctx)
	defer s.Unwind(&err)
	defer cancel() // runs first: the echo backend stops
	demo := backend == ""
	if demo {
		echo, err := scope.Enter(s, listener("127.0.0.1:0"))
		if err != nil {
			return err
		}
		s.Go(func(ctx context.Context) error { return serveEcho(ctx, echo) })
		backend = echo.Addr().String()
	}
	ln, err := scope.Enter(s, listener(listen))
	if err != nil {
		return err
	}
	p := &Proxy{Backend: backend, Hex: hexDump, log: stdout}
	fmt.Fprintf(stdout, "proxying %s -> %s\n", ln.Addr(), backend)
	if !demo {
		return p.Serve(ctx, ln)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	for _, msg := range []string{"hello\n", "\x00\x01binary\xff"} {
		if err := roundTrip(ln.Addr().String(), msg); err != nil {
			return err
		}
	}
	ln.Close() // stop the proxy
	return <-served
}

// roundTrip sends msg through the proxy and checks that it comes back.
func roundTrip(addr, msg string) error {
	return scope.With(dial(context.Background(), addr), func(c net.Conn) error {
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if string(got) != msg {
			return fmt.Errorf("sent %q, got back %q", msg, got)
		}
		return nil
	})
}

// listener is a Manager for a TCP listener.
func listener(addr string) scope.Manager[net.Listener] {
	return scope.Func(func() (net.Listener, error) { return net.Listen("tcp", addr) },
		func(ln net.Listener, _ error) error { return ignoreClosed(ln.Close()) })
}

// serveEcho echoes every connection on ln back to itself until ctx is done.
func serveEcho(ctx context.Context, ln net.Listener) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	s := scope.New(ctx)
	s.SetCancelOnError(false)
	defer s.Unwind(&err)
	defer cancel()
	s.Go(func(ctx context.Context) error { <-ctx.Done(); return ignoreClosed(ln.Close()) })
	for {
		conn, err := ln.Accept()
		if err != nil {
			return nil // closed
		}
		s.Go(func(ctx context.Context) error {
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			defer conn.Close()
			// A peer that resets its connection ends that connection,
			// not the echo server.
			_, _ = io.Copy(conn, conn)
			return nil
		})
	}
}
