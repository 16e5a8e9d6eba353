package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("HTTPSERVER_CHILD_ARGS"); ok {
		// Be the program, signal handling included.
		os.Args = append([]string{"httpserver"}, strings.Fields(args)...)
		main()
	}
	goleak.VerifyTestMain(m)
}

// serveChild starts the program with -serve and args in a child process and
// returns it, its base URL, and a reader of the rest of its output.
func serveChild(t *testing.T, args ...string) (*exec.Cmd, string, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HTTPSERVER_CHILD_ARGS=-serve "+strings.Join(args, " "))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	w.Close()
	t.Cleanup(func() { r.Close(); _ = cmd.Process.Kill() })
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "listening on "), line)
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), br
}

// TestServeSlowRequests: in -serve mode every /slow request completes, not
// only the first.
func TestServeSlowRequests(t *testing.T) {
	cmd, url, r := serveChild(t, "-slow", "50ms")
	client, tr := newClient()
	defer tr.CloseIdleConnections()
	done := make(chan string, 3)
	for range 3 {
		go func() {
			body, err := get(client, url+"/slow")
			if err != nil {
				body = err.Error()
			}
			done <- body
		}()
	}
	for range 3 {
		select {
		case body := <-done:
			assert.Equal(t, "done after 50ms\n", body)
		case <-time.After(10 * time.Second):
			t.Fatal("a /slow request hangs")
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	rest, _ := io.ReadAll(r)
	require.NoError(t, cmd.Wait(), "exit code 0 after a clean shutdown:\n%s", rest)
}

// TestSecondInterruptExitsAtOnce: the first Ctrl-C waits for a slow request,
// the second exits at once with code 130.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	cmd, url, r := serveChild(t, "-slow", "1m", "-shutdown-timeout", "1m")
	client, tr := newClient()
	defer tr.CloseIdleConnections()
	go func() { _, _ = get(client, url+"/slow") }()
	time.Sleep(100 * time.Millisecond) // the request is in flight
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, "interrupted: shutting down")
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	rest, _ := io.ReadAll(r)
	require.Error(t, cmd.Wait())
	assert.Equal(t, exitForced, cmd.ProcessState.ExitCode())
	assert.Less(t, time.Since(start), 5*time.Second, "not after the shutdown's minute")
	assert.Contains(t, string(rest), "second interrupt: exiting without waiting for the shutdown")
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		reason string
		args   []string
		code   int
	}{
		{"-h is not an error", []string{"-h"}, 0},
		{"an unknown flag is a usage error", []string{"-nope"}, 2},
		{"so is an argument", []string{"extra"}, 2},
	} {
		var out, errOut strings.Builder
		assert.Equal(t, tt.code, run(context.Background(), tt.args, &out, &errOut), tt.reason)
		assert.Contains(t, errOut.String(), "-shutdown-timeout", "%s: usage is printed", tt.reason)
	}
}

func TestDefaultRunFinishesInFlightRequest(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run(context.Background(), nil, &out, &errOut), errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "listening on http://127.0.0.1:"))
	assert.Equal(t, []string{
		"GET /hello: hello, world",
		"shutting down with a request in flight",
		"GET /slow: done after 300ms",
		"shut down cleanly",
	}, lines[1:], "the request in flight completed during the shutdown")
}

func TestShutdownDeadline(t *testing.T) {
	// The slow request outlasts the shutdown deadline: it is cut off, and
	// the deadline is the error.
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"-slow", "2s", "-shutdown-timeout", "100ms"}, &out, &errOut)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "context deadline exceeded")
}

func TestSlowHeadersCutOff(t *testing.T) {
	var s scope.Scope
	defer func() { assert.NoError(t, s.CloseTimeout(time.Second)) }()
	srv, err := scope.Enter(&s, &Server{
		Addr:              "127.0.0.1:0",
		Handler:           handler(0, nil),
		ReadHeaderTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)

	conn, err := net.Dial("tcp", srv.ln.Addr().String())
	require.NoError(t, err)
	s.Defer(conn.Close)
	start := time.Now()
	_, err = io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(conn) // until the server hangs up
	assert.NoError(t, err, "the server closed the connection (not our read deadline)")
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 200*time.Millisecond)
	assert.Less(t, elapsed, 5*time.Second, "cut off by ReadHeaderTimeout")
}

func TestInterruptShutsDownCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HTTPSERVER_CHILD_ARGS=-serve")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "listening on "), line)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	rest, _ := io.ReadAll(r)
	require.NoError(t, cmd.Wait(), "exit code 0 after Ctrl-C")
	assert.Contains(t, string(rest), "interrupted: shutting down")
}
