package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Server runs the rendered Caddy configuration in this process.
//
// Caddy keeps its running configuration in package-level state, so there is
// one Server per process: two would replace each other's configuration.
type Server struct {
	log *slog.Logger

	mu     sync.Mutex
	loaded []byte   // the configuration Caddy runs, as loaded; nil when stopped
	addrs  []string // the sockets it listens on (see sockets.go)
}

// NewServer returns a stopped server that logs its starts, reloads and
// stops to logger (slog.Default when nil). Caddy's own log goes where the
// rendered configuration says: standard error.
func NewServer(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{log: logger}
}

// Listen overrides where a configuration listens. An empty list keeps the
// addresses of the rendered configuration: the rendered file says where a
// box listens, the daemon's --http and --https flags may say otherwise
// without a new render. HTTPS is ignored when the configuration serves
// none (box.tls off). Empty strings are ignored.
type Listen struct {
	HTTP  []string
	HTTPS []string
}

// Load runs cfg, a configuration rendered by Config, on the addresses of
// listen (see Listen).
//
// The first Load starts Caddy; a later one with a different configuration
// hot-reloads it: Caddy provisions the new configuration, then swaps it in
// on the same sockets, HTTP and HTTPS alike, which Server keeps open
// across reloads so that no connection is refused or reset in between
// (see sockets.go); a reload returns after the configuration's
// shutdown_delay (1s). A later Load with the same configuration and listen
// does nothing. When cfg does not load, the previous configuration keeps
// running and the error says why.
func (s *Server) Load(cfg []byte, listen Listen) error {
	effective, addrs, err := prepare(cfg, listen)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded != nil && bytes.Equal(effective, s.loaded) {
		s.log.Debug("caddy config unchanged")
		return nil
	}
	if _, err := openSockets(addrs); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	start := time.Now()
	// forceReload: Caddy's own "unchanged" check compares with a config it
	// may still hold after a Stop; ours above is the one that counts.
	if err := caddy.Load(effective, true); err != nil {
		closeUnused(s.addrs) // what the running configuration (if any) still uses
		return fmt.Errorf("web: caddy: %w", err)
	}
	action := "reloaded"
	if s.loaded == nil {
		action = "started"
	}
	s.loaded, s.addrs = effective, addrs
	closeUnused(addrs)
	s.log.Info("caddy "+action, "listen", addrs, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop stops serving and closes the sockets. It takes the configuration's
// shutdown_delay (1s), during which requests in flight finish. Stop on a
// stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded == nil {
		return nil
	}
	err := caddy.Stop()
	closeUnused(nil)
	s.loaded, s.addrs = nil, nil
	if err != nil {
		return fmt.Errorf("web: caddy: stop: %w", err)
	}
	s.log.Info("caddy stopped")
	return nil
}

// prepare sets the listen addresses of every HTTP server in cfg (those of
// listen when given, else the server's own), routes the TCP ones through
// the sockets Ruche owns ("ruche/ADDR"), and returns cfg compacted with
// those addresses. It edits the generic JSON tree rather than Caddy's
// structs so that no field it does not know about is lost.
//
// A server with TLS connection policies serves HTTPS on every address but
// those on the app's http_port (that is how Caddy tells them apart), so
// prepare sorts the rendered addresses by that port, replaces each kind by
// listen's, and sets http_port, https_port, each address's protocols and
// the HTTPS redirect's port to match.
func prepare(cfg []byte, listen Listen) ([]byte, []string, error) {
	listen.HTTP = slices.DeleteFunc(slices.Clone(listen.HTTP), func(a string) bool { return a == "" })
	listen.HTTPS = slices.DeleteFunc(slices.Clone(listen.HTTPS), func(a string) bool { return a == "" })
	dec := json.NewDecoder(bytes.NewReader(cfg))
	dec.UseNumber() // keep numbers exactly as written
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, nil, fmt.Errorf("web: caddy config: %w", err)
	}
	apps, _ := root["apps"].(map[string]any)
	httpApp, _ := apps["http"].(map[string]any)
	servers, _ := httpApp["servers"].(map[string]any)
	if len(servers) == 0 {
		return nil, nil, fmt.Errorf("web: caddy config: no HTTP server")
	}
	renderedHTTPPort := 80
	if n, ok := httpApp["http_port"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			renderedHTTPPort = int(v)
		}
	}
	var addrs []string
	httpPort, httpsPort := 0, 0
	for name, srv := range servers {
		m, ok := srv.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("web: caddy config: server %s is not an object", name)
		}
		policies, _ := m["tls_connection_policies"].([]any)
		secure := len(policies) > 0

		var plainAddrs, tlsAddrs []string
		list, _ := m["listen"].([]any)
		for _, a := range list {
			str, ok := a.(string)
			if !ok {
				continue
			}
			if secure && listenPort(str) != renderedHTTPPort {
				tlsAddrs = append(tlsAddrs, str)
			} else {
				plainAddrs = append(plainAddrs, str)
			}
		}
		if len(listen.HTTP) > 0 {
			plainAddrs = listen.HTTP
		}
		if secure && len(listen.HTTPS) > 0 {
			tlsAddrs = listen.HTTPS
		}

		if secure {
			if len(tlsAddrs) == 0 {
				return nil, nil, fmt.Errorf("web: caddy config: server %s has TLS but no HTTPS address", name)
			}
			for _, a := range plainAddrs {
				p := listenPort(a)
				if p == 0 {
					return nil, nil, fmt.Errorf("web: HTTP address %q: only TCP addresses with a port when HTTPS is on", a)
				}
				if httpPort != 0 && p != httpPort {
					return nil, nil, fmt.Errorf("web: HTTP addresses must share one port when HTTPS is on: %d and %d", httpPort, p)
				}
				httpPort = p
			}
			for _, a := range tlsAddrs {
				p := listenPort(a)
				if p == httpPort {
					return nil, nil, fmt.Errorf("web: HTTPS address %q uses the HTTP port", a)
				}
				if httpsPort == 0 {
					httpsPort = p
				}
			}
		}

		routed := make([]any, 0, len(plainAddrs)+len(tlsAddrs))
		var protocols []any
		for i, a := range slices.Concat(plainAddrs, tlsAddrs) {
			if addr, ok := ownedAddress(a); ok {
				routed = append(routed, network+"/"+addr)
				if !slices.Contains(addrs, addr) {
					addrs = append(addrs, addr)
				}
			} else {
				routed = append(routed, a)
			}
			if i < len(plainAddrs) {
				protocols = append(protocols, []any{"h1"})
			} else {
				protocols = append(protocols, []any{"h1", "h2"})
			}
		}
		m["listen"] = routed
		if secure {
			m["listen_protocols"] = protocols
			setRedirectPort(m, httpsPort)
		}
	}
	if httpPort != 0 {
		httpApp["http_port"] = httpPort
		httpApp["https_port"] = httpsPort
	}
	out, err := json.Marshal(root)
	if err != nil {
		return nil, nil, fmt.Errorf("web: caddy config: %w", err)
	}
	return out, addrs, nil
}

// listenPort is the port of a listen address ("ruche/127.0.0.1:8443",
// ":443"), 0 for one without (a unix socket).
func listenPort(addr string) int {
	na, err := caddy.ParseNetworkAddress(addr)
	if err != nil || na.IsUnixNetwork() || na.IsFdNetwork() {
		return 0
	}
	return int(na.StartPort)
}

// setRedirectPort points the HTTPS redirect of a server (the route of
// httpsRedirectGroup, rendered for the default HTTPS port) at port.
func setRedirectPort(srv map[string]any, port int) {
	routes, _ := srv["routes"].([]any)
	for _, r := range routes {
		route, _ := r.(map[string]any)
		if route["group"] != httpsRedirectGroup {
			continue
		}
		handlers, _ := route["handle"].([]any)
		for _, h := range handlers {
			hm, _ := h.(map[string]any)
			if hdrs, ok := hm["headers"].(map[string]any); ok && hdrs["Location"] != nil {
				hdrs["Location"] = []any{httpsLocation(port)}
			}
		}
	}
}
