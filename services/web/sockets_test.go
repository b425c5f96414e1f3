package web

import (
	"errors"
	"net"
	"testing"
	"time"
)

// TestSocketViews: only the newest view of a socket accepts; closing it
// gives the socket back to the previous one (a reload that failed to
// start), and closing a view never closes the socket.
func TestSocketViews(t *testing.T) {
	s, err := openSocket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	addr := s.ln.Addr().String()

	type accepted struct {
		view string
		err  error
	}
	got := make(chan accepted, 10)
	serve := func(name string, l *listener) {
		for {
			conn, err := l.Accept()
			got <- accepted{name, err}
			if err != nil {
				return
			}
			conn.Close()
		}
	}
	expect := func(want string) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		select {
		case a := <-got:
			if a.err != nil || a.view != want {
				t.Fatalf("accepted by %s (%v), want %s", a.view, a.err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no view accepted; want %s", want)
		}
	}

	old := s.view()
	go serve("old", old)
	expect("old")

	newer := s.view() // a new configuration starts listening
	go serve("new", newer)
	for range 5 {
		expect("new")
	}

	newer.Close() // it failed to start: the old one takes over again
	if a := <-got; a.view != "new" || !errors.Is(a.err, net.ErrClosed) {
		t.Fatalf("closed view's Accept returned %v", a.err)
	}
	expect("old")

	old.Close()
	if a := <-got; !errors.Is(a.err, net.ErrClosed) {
		t.Fatalf("closed view's Accept returned %v", a.err)
	}
	// The socket is still open: a new view accepts on it.
	last := s.view()
	go serve("last", last)
	expect("last")
	last.Close()
}

func TestOwnedAddress(t *testing.T) {
	for in, want := range map[string]string{
		":80":            ":80",
		"127.0.0.1:8080": "127.0.0.1:8080",
		"tcp/[::1]:8080": "[::1]:8080",
		"0.0.0.0:80":     "0.0.0.0:80",
	} {
		if got, ok := ownedAddress(in); !ok || got != want {
			t.Errorf("ownedAddress(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"unix//run/ruche/http.sock", ":8080-8085", "udp/:53", "fd/3", "localhost"} {
		if got, ok := ownedAddress(in); ok {
			t.Errorf("ownedAddress(%q) = %q, want it left to Caddy", in, got)
		}
	}
}
