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

// Load runs cfg, a configuration rendered by Config. When listen holds an
// address (empty strings are ignored) it replaces the listen addresses of
// every server in cfg: the rendered file says where a box listens, the
// daemon's --http flag may say otherwise without a new render.
//
// The first Load starts Caddy; a later one with a different configuration
// hot-reloads it: Caddy provisions the new configuration, then swaps it in
// on the same sockets, which Server keeps open across reloads so that no
// connection is refused or reset in between (see sockets.go); a reload
// returns after the configuration's shutdown_delay (1s). A later Load
// with the same configuration and listen does nothing. When cfg does not
// load, the previous configuration keeps running and the error says why.
func (s *Server) Load(cfg []byte, listen []string) error {
	listen = slices.DeleteFunc(slices.Clone(listen), func(a string) bool { return a == "" })
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

// prepare sets the listen addresses of every HTTP server in cfg (to listen
// when given, else to the server's own), routes the TCP ones through the
// sockets Ruche owns ("ruche/ADDR"), and returns cfg compacted with those
// addresses. It edits the generic JSON tree rather than Caddy's structs so
// that no field it does not know about is lost.
func prepare(cfg []byte, listen []string) ([]byte, []string, error) {
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
	var addrs []string
	for name, srv := range servers {
		m, ok := srv.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("web: caddy config: server %s is not an object", name)
		}
		own := listen
		if len(own) == 0 {
			list, _ := m["listen"].([]any)
			for _, a := range list {
				if str, ok := a.(string); ok {
					own = append(own, str)
				}
			}
		}
		routed := make([]string, 0, len(own))
		for _, a := range own {
			if addr, ok := ownedAddress(a); ok {
				routed = append(routed, network+"/"+addr)
				if !slices.Contains(addrs, addr) {
					addrs = append(addrs, addr)
				}
			} else {
				routed = append(routed, a)
			}
		}
		m["listen"] = routed
	}
	out, err := json.Marshal(root)
	if err != nil {
		return nil, nil, fmt.Errorf("web: caddy config: %w", err)
	}
	return out, addrs, nil
}
