package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("TCPPROXY_CHILD_ARGS"); ok {
		// Be the program, signal handling included.
		os.Args = append([]string{"tcpproxy"}, strings.Fields(args)...)
		main()
	}
	goleak.VerifyTestMain(m)
}

// startProxy runs a proxy to backend on 127.0.0.1 until the test ends.
func startProxy(t *testing.T, backend string, log io.Writer) string {
	t.Helper()
	s := scope.ForTest(t)
	ln, err := scope.Enter(s, listener("127.0.0.1:0"))
	require.NoError(t, err)
	p := &Proxy{Backend: backend, log: log}
	s.Go(func(ctx context.Context) error { return p.Serve(ctx, ln) })
	return ln.Addr().String()
}

// startEcho runs an echo server on 127.0.0.1 until the test ends.
func startEcho(t *testing.T) string {
	t.Helper()
	s := scope.ForTest(t)
	ln, err := scope.Enter(s, listener("127.0.0.1:0"))
	require.NoError(t, err)
	s.Go(func(ctx context.Context) error { return serveEcho(ctx, ln) })
	return ln.Addr().String()
}

func TestDefaultRun(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run(context.Background(), nil, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), `#1 -> 6 bytes "hello\n"`)
	assert.Contains(t, out.String(), `#1 <- 6 bytes "hello\n"`)
	assert.Contains(t, out.String(), `#2 <- 9 bytes "\x00\x01binary\xff"`)
	assert.Equal(t, 2, strings.Count(out.String(), " closed\n"))
}

func TestConcurrentClientsGetTheirBytesBack(t *testing.T) {
	addr := startProxy(t, startEcho(t), io.Discard)
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := scope.With(dial(context.Background(), addr), func(conn net.Conn) error {
				for i := range 50 {
					msg := make([]byte, 1+(c*131+i*17)%4000)
					_, _ = rand.Read(msg)
					if _, err := conn.Write(msg); err != nil {
						return err
					}
					got := make([]byte, len(msg))
					if _, err := io.ReadFull(conn, got); err != nil {
						return err
					}
					if !bytes.Equal(got, msg) {
						return fmt.Errorf("client %d message %d came back changed", c, i)
					}
				}
				return nil
			})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
}

func TestClientCloseClosesBackend(t *testing.T) {
	s := scope.ForTest(t)
	ln, err := scope.Enter(s, listener("127.0.0.1:0"))
	require.NoError(t, err)
	backendEOF := make(chan error, 1)
	s.Go(func(ctx context.Context) error {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = io.Copy(io.Discard, conn) // returns when the proxy closes its side
		backendEOF <- err
		return nil
	})
	addr := startProxy(t, ln.Addr().String(), io.Discard)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(conn, "bye")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	select {
	case err := <-backendEOF:
		assert.NoError(t, err, "the backend saw a clean end of stream")
	case <-time.After(5 * time.Second):
		t.Fatal("closing the client did not close the backend connection")
	}
}

func TestBackendCloseClosesClient(t *testing.T) {
	s := scope.ForTest(t)
	ln, err := scope.Enter(s, listener("127.0.0.1:0"))
	require.NoError(t, err)
	s.Go(func(ctx context.Context) error {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		_, _ = io.WriteString(conn, "server says bye")
		return conn.Close()
	})
	addr := startProxy(t, ln.Addr().String(), io.Discard)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, err := io.ReadAll(conn)
	assert.NoError(t, err, "the client sees the end of stream, not a timeout")
	assert.Equal(t, "server says bye", string(got))
}

func TestHexLog(t *testing.T) {
	var (
		mu  sync.Mutex
		log strings.Builder
	)
	w := writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return log.Write(b) })
	s := scope.ForTest(t)
	ln, err := scope.Enter(s, listener("127.0.0.1:0"))
	require.NoError(t, err)
	p := &Proxy{Backend: startEcho(t), Hex: true, log: w}
	s.Go(func(ctx context.Context) error { return p.Serve(ctx, ln) })
	require.NoError(t, roundTrip(ln.Addr().String(), "\x00\x01AB"))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(log.String(), "closed")
	}, 5*time.Second, time.Millisecond)
	assert.Contains(t, log.String(), "00000000  00 01 41 42")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestBackendDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	var (
		mu  sync.Mutex
		log strings.Builder
	)
	w := writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return log.Write(b) })
	addr := startProxy(t, dead, w)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(conn)
	assert.NoError(t, err, "the client is hung up on when the backend cannot be reached")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(log.String(), "error: dial tcp")
	}, 5*time.Second, time.Millisecond)
}

// TestHalfClose: a client that shuts down its sending side and then reads
// gets the backend's reply through the proxy.
func TestHalfClose(t *testing.T) {
	addr := startProxy(t, startEcho(t), io.Discard)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "ping, then no more")
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, err := io.ReadAll(conn)
	require.NoError(t, err, "the reply, then the end of stream")
	assert.Equal(t, "ping, then no more", string(got))
}

// TestHalfCloseFromBackend: the backend finishes sending first and keeps
// reading; what the client sends after that still reaches it.
func TestHalfCloseFromBackend(t *testing.T) {
	s := scope.ForTest(t)
	ln, err := scope.Enter(s, listener("127.0.0.1:0"))
	require.NoError(t, err)
	received := make(chan string, 1)
	s.Go(func(ctx context.Context) error {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "banner"); err != nil {
			return err
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			return err
		}
		b, err := io.ReadAll(conn)
		received <- string(b)
		return err
	})
	conn, err := net.Dial("tcp", startProxy(t, ln.Addr().String(), io.Discard))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	banner, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Equal(t, "banner", string(banner))
	_, err = io.WriteString(conn, "after the banner")
	require.NoError(t, err, "the client's direction is still open")
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	select {
	case got := <-received:
		assert.Equal(t, "after the banner", got)
	case <-time.After(5 * time.Second):
		t.Fatal("the backend did not receive what the client sent after its half-close")
	}
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		reason string
		args   []string
		code   int
		want   string
	}{
		{"-h is not an error", []string{"-h"}, 0, "-backend host:port"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"argument", []string{"extra"}, 2, `unexpected argument "extra"`},
		{"backend not host:port", []string{"-backend", "nonsense"}, 2, `-backend "nonsense": not a host:port address`},
		{"bad port", []string{"-backend", "127.0.0.1:nope"}, 2, `-backend "127.0.0.1:nope": not a host:port address`},
		{"listen not host:port", []string{"-listen", "9000"}, 2, `-listen "9000": not a host:port address`},
	} {
		var out, errOut strings.Builder
		assert.Equal(t, tt.code, run(context.Background(), tt.args, &out, &errOut), tt.reason)
		assert.Contains(t, errOut.String(), tt.want, tt.reason)
	}
}

// TestSignalClosesEverything: SIGINT is reported, every connection is closed
// and the proxy exits 0.
func TestSignalClosesEverything(t *testing.T) {
	backend := startEcho(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TCPPROXY_CHILD_ARGS=-backend "+backend)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	w.Close()
	defer r.Close()
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	addr := strings.Fields(line)[1] // "proxying ADDR -> BACKEND"
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, roundTrip(addr, "alive"))
	_, err = io.WriteString(conn, "x")
	require.NoError(t, err)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(conn)
	assert.NoError(t, err, "the open connection is closed, not left hanging")
	rest, _ := io.ReadAll(br)
	require.NoError(t, cmd.Wait(), "exit 0:\n%s", rest)
	assert.Contains(t, string(rest), "tcpproxy: interrupted: every connection is closed")
}
