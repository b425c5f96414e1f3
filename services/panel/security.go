package panel

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// csp allows the panel's own stylesheet and images, and nothing else: no
// script at all (the pages need none), no inline style, no frame, forms
// only to the panel itself.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders go on every answer: the panel is never framed (no
// clickjacking of an admin's clicks), its pages load nothing from
// elsewhere, its URLs (a setup link's token) are not sent to other sites,
// and nothing it answers is kept in a cache: pages carry the user's data
// and the shared computers of an association have many users. The
// stylesheet overrides the last.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY") // for browsers older than frame-ancestors
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// localhostName is the panel's name in development (a root other than /):
// browsers resolve *.localhost to the loopback address themselves, so no
// DNS answer can bring another site's pages there.
const localhostName = "panel.localhost"

// hostAllowed reports whether the request's Host is one of the panel's:
// <hostname>.local, panel.localhost, or one of the box's own IP addresses,
// with no port or a port the server listens on. Caddy routes only those
// names here; the panel checks again so that its safety does not hang on a
// route written elsewhere. The threat is DNS rebinding: a page of
// evil.example whose name is made to resolve to the box talks to the box
// from the visitor's browser, inside the LAN, as the same origin. It gets
// no panel cookie, but it could read /metrics (LAN only) and try passwords
// from the LAN; under its own name it gets nothing but a 421.
func (p *Panel) hostAllowed(r *http.Request) bool {
	host, port := splitHostPort(r.Host)
	if !p.portAllowed(r, port) {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.boxAddr(r, addr)
	}
	if host == localhostName {
		return true
	}
	if pk := p.pack(); pk != nil && pk.Box.Hostname != "" {
		return host == strings.ToLower(pk.Box.Hostname)+".local"
	}
	return false
}

// splitHostPort splits a Host header: "a.local:8080", "[::1]:80", "[::1]",
// "10.0.0.7". The port is "" when there is none.
func splitHostPort(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
}

// portAllowed accepts no port (the scheme's own: what the browser was told
// is where it got), the port of the connection, and the ports the server
// listens on. With none of those known (the handler alone, in a test),
// any port.
func (p *Panel) portAllowed(r *http.Request, port string) bool {
	if port == "" {
		return true
	}
	known := false
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, lp, err := net.SplitHostPort(la.String()); err == nil {
			known = true
			if lp == port {
				return true
			}
		}
	}
	for _, l := range p.opts.Listen {
		if _, lp, err := net.SplitHostPort(l); err == nil && lp != "" {
			known = true
			if lp == port {
				return true
			}
		}
	}
	return !known
}

// boxAddr reports whether addr is the box's own: a loopback address, the
// address the connection came in on, or one of its interfaces' addresses.
func (p *Panel) boxAddr(r *http.Request, addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	if addr.IsLoopback() {
		return true
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil && ap.Addr().Unmap().WithZone("") == addr {
			return true
		}
	}
	return p.addrs.has(addr)
}

// addrCacheTTL is how long the interfaces' addresses are kept.
const addrCacheTTL = 30 * time.Second

func (c *addrCache) has(addr netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.addrs == nil || time.Since(c.at) > addrCacheTTL {
		c.addrs = map[string]bool{}
		c.at = time.Now()
		ifas, _ := net.InterfaceAddrs()
		for _, a := range ifas {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil {
				c.addrs[pfx.Addr().Unmap().WithZone("").String()] = true
			}
		}
	}
	return c.addrs[addr.String()]
}

// fromLAN reports whether a remote address is on a local network:
// loopback, RFC 1918 and IPv6 unique local (fc00::/7), or link-local.
// The check is on the connection's own address, never on X-Forwarded-For,
// which any client can write.
func fromLAN(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap() // ::ffff:192.168.1.2 is 192.168.1.2
	return addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast()
}
