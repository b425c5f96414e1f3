package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Why Ruche owns the listening sockets
//
// On Linux, Caddy reloads by opening a second socket on the same port with
// SO_REUSEPORT and closing the old one once the new configuration runs. The
// kernel spreads incoming connections over both sockets, and those waiting
// in the old socket's accept queue when it closes are reset. Worse, Go's
// http.Server, once shutting down, drops without an answer a connection it
// accepted whose request it reads after the shutdown began. Either way a
// visitor loading a page during a reload gets an error (the integration
// test saw about one in a few hundred requests).
//
// So Server.Load opens each TCP address once and keeps the socket across
// reloads; each Caddy configuration gets its own view of it through the
// "ruche" network type ("ruche/127.0.0.1:8080" in the listen list). Only
// the newest view accepts: the moment a new configuration starts
// listening, the old one stops taking connections and, for the rendered
// shutdown_delay, serves those it already has before Caddy shuts it down.
// If the new configuration fails to start, its views close and the
// previous one accepts again. The socket closes only when no configuration
// listens on the address any more (or on Stop).
//
// The HTTPS address goes through the same sockets: Caddy wraps a view in
// its TLS listener, so the TCP socket stays Ruche's and each connection's
// handshake runs in the configuration that accepted it, with the
// certificates Caddy's cache shares between configurations.

// network is the Caddy network type of sockets Ruche owns.
const network = "ruche"

func init() {
	caddy.RegisterNetwork(network, caddyListener)
}

// sockets are the open sockets by address ("127.0.0.1:8080", ":80"). Caddy
// runs one configuration per process, so one pool per process.
var sockets = struct {
	sync.Mutex
	m map[string]*socket
}{m: map[string]*socket{}}

// socket is one listening TCP socket. One goroutine accepts on it and
// hands each connection to the Accept of the newest view.
type socket struct {
	ln      net.Listener
	conns   chan net.Conn // unbuffered: a connection is only taken by a live Accept
	closing chan struct{}
	done    chan struct{} // closed when the accept loop has ended

	mu      sync.Mutex
	views   []*listener   // open views, oldest first; the last one accepts
	changed chan struct{} // closed (and replaced) when the accepting view changes
}

func openSocket(addr string) (*socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &socket{
		ln:      ln,
		conns:   make(chan net.Conn),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	go s.accept()
	return s, nil
}

func (s *socket) accept() {
	defer close(s.done)
	var delay time.Duration
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http
			// does, rather than spin or give up serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
				continue
			case <-s.closing:
				return
			}
		}
		delay = 0
		select {
		case s.conns <- conn:
		case <-s.closing:
			conn.Close()
			return
		}
	}
}

func (s *socket) close() {
	close(s.closing)
	s.ln.Close()
	<-s.done
}

// view opens a new view, which becomes the one that accepts.
func (s *socket) view() *listener {
	l := &listener{s: s, closed: make(chan struct{})}
	s.mu.Lock()
	s.views = append(s.views, l)
	s.changedLocked()
	s.mu.Unlock()
	return l
}

// state tells a view whether it accepts, and what to wait on for that to
// change.
func (s *socket) state(l *listener) (accepting bool, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.views) > 0 && s.views[len(s.views)-1] == l, s.changed
}

func (s *socket) remove(l *listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range s.views {
		if v == l {
			s.views = append(s.views[:i], s.views[i+1:]...)
			s.changedLocked()
			return
		}
	}
}

func (s *socket) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// listener is one Caddy configuration's view of a socket. Closing it (Caddy
// does when that configuration stops) ends its Accept calls, not the socket.
type listener struct {
	s      *socket
	closed chan struct{}
	once   sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		accepting, changed := l.s.state(l)
		var conns chan net.Conn // nil: not ours to take, wait for a change
		if accepting {
			conns = l.s.conns
		}
		select {
		case conn := <-conns:
			return conn, nil
		case <-changed:
		case <-l.closed:
			return nil, net.ErrClosed
		case <-l.s.done:
			return nil, net.ErrClosed
		}
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.s.remove(l)
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.s.ln.Addr() }

// caddyListener is the "ruche" network type: it gives Caddy a view of a
// socket Server.Load opened beforehand.
func caddyListener(_ context.Context, _, host, portRange string, portOffset uint, _ net.ListenConfig) (any, error) {
	addr := net.JoinHostPort(host, portRange)
	sockets.Lock()
	s := sockets.m[addr]
	sockets.Unlock()
	if s == nil || portOffset != 0 {
		return nil, fmt.Errorf("web: no socket open for %s/%s (listen addresses go through Server.Load)", network, addr)
	}
	return s.view(), nil
}

// ownedAddress reports whether Ruche should own the socket of a listen
// address, and its normalised form: plain TCP addresses with one port.
// Others (unix sockets, port ranges) are left to Caddy.
func ownedAddress(addr string) (string, bool) {
	netw, host, port, err := caddy.SplitNetworkAddress(addr)
	if err != nil || (netw != "" && netw != "tcp") || port == "" || strings.Contains(port, "-") {
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// openSockets makes sure a socket is open for every address; it returns
// the ones it opened, for closeUnused to undo if the load fails.
func openSockets(addrs []string) (opened []string, err error) {
	sockets.Lock()
	defer sockets.Unlock()
	for _, a := range addrs {
		if sockets.m[a] != nil {
			continue
		}
		s, err := openSocket(a)
		if err != nil {
			for _, o := range opened {
				sockets.m[o].close()
				delete(sockets.m, o)
			}
			return nil, err
		}
		sockets.m[a] = s
		opened = append(opened, a)
	}
	return opened, nil
}

// closeUnused closes every socket whose address is not in keep.
func closeUnused(keep []string) {
	sockets.Lock()
	defer sockets.Unlock()
	for a, s := range sockets.m {
		if !slices.Contains(keep, a) {
			s.close()
			delete(sockets.m, a)
		}
	}
}
