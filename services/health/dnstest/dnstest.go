// Package dnstest runs a real DNS server on a loopback port for tests, with
// fixture zones written as in a zone file. Tests of the mail DNS checks
// (services/health, `ruche doctor`) point a resolver at it instead of the
// Internet, which tests never reach.
package dnstest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server answers from its zone: the records of the asked name and type,
// NOERROR with no answer when the name has other records only, NXDOMAIN
// when it has none, SERVFAIL for names told to fail.
type Server struct {
	Addr string // host:port, the same port in UDP and TCP

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case absolute name
	fail    map[string]bool
}

// Start serves zone (zone-file syntax, absolute names) on a loopback port
// until the test ends.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, fail: map[string]bool{}}
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "fixture")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("dnstest: fixture zone: %v", err)
	}
	pc, l := listenBoth(t)
	s.Addr = pc.LocalAddr().String()
	handler := dns.HandlerFunc(s.answer)
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: l, Handler: handler}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return s
}

// FailFor makes the server answer SERVFAIL for name, as a resolver does
// when a domain's own servers are broken.
func (s *Server) FailFor(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[dns.Fqdn(strings.ToLower(name))] = true
}

func (s *Server) answer(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	// Go's resolver takes a reply that is neither authoritative nor
	// recursive, with no answer, for a lame referral: say both.
	m.Authoritative, m.RecursionAvailable = true, true
	if len(req.Question) == 1 {
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		s.mu.Lock()
		rrs, known := s.records[name]
		failing := s.fail[name]
		s.mu.Unlock()
		switch {
		case failing:
			m.Rcode = dns.RcodeServerFailure
		case !known:
			m.Rcode = dns.RcodeNameError
		default:
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, dns.Copy(rr))
				}
			}
		}
	}
	w.WriteMsg(m)
}

// Resolver is a pure-Go resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver { return Resolver(s.Addr) }

// Resolver is a pure-Go resolver that asks only the DNS server at addr,
// over UDP or TCP as it needs.
func Resolver(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// Silent returns the address of a DNS server that never answers, as one
// behind a dead link: UDP queries are read and dropped, TCP connections
// accepted and left hanging.
func Silent(t testing.TB) string {
	t.Helper()
	pc, l := listenBoth(t)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return // closed at the test's end
			}
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return pc.LocalAddr().String()
}

// listenBoth listens on one loopback port in both UDP and TCP, as a DNS
// server does. The UDP port is picked free; TCP may find it taken, so a
// few ports are tried.
func listenBoth(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
		if attempt >= 20 || time.Now().After(deadline) {
			t.Fatalf("dnstest: no loopback port free in both UDP and TCP: %v", err)
		}
	}
}
